console.log("k8s-job-manager");
