/**
 * The client-node model classes of the objects the API, the controller and
 * the configuration handle — a Job (with its pod template), a Pod with its
 * status, an Event and (for `local`) the MutatingWebhookConfiguration, and
 * every model they contain — each
 * imported alone. Their attribute maps say each field's wire
 * name and type (lib/kube/objects.ts converts with them; the configuration
 * check finds unknown field names with them).
 *
 * Why not client-node's ObjectSerializer module: it imports all ~700 models
 * of the client, ~25 MB of RSS for a process that handles these 148 (~10 MB).
 * test/lib/kube-objects.test.ts checks the table is closed (every model a
 * listed model contains is listed) against client-node's own type map.
 */
import { AdmissionregistrationV1ServiceReference } from '@kubernetes/client-node/dist/gen/models/AdmissionregistrationV1ServiceReference.js';
import { AdmissionregistrationV1WebhookClientConfig } from '@kubernetes/client-node/dist/gen/models/AdmissionregistrationV1WebhookClientConfig.js';
import { CoreV1Event } from '@kubernetes/client-node/dist/gen/models/CoreV1Event.js';
import { CoreV1EventSeries } from '@kubernetes/client-node/dist/gen/models/CoreV1EventSeries.js';
import { CoreV1ResourceClaim } from '@kubernetes/client-node/dist/gen/models/CoreV1ResourceClaim.js';
import { V1AWSElasticBlockStoreVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1AWSElasticBlockStoreVolumeSource.js';
import { V1Affinity } from '@kubernetes/client-node/dist/gen/models/V1Affinity.js';
import { V1AppArmorProfile } from '@kubernetes/client-node/dist/gen/models/V1AppArmorProfile.js';
import { V1AzureDiskVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1AzureDiskVolumeSource.js';
import { V1AzureFileVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1AzureFileVolumeSource.js';
import { V1CSIVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1CSIVolumeSource.js';
import { V1Capabilities } from '@kubernetes/client-node/dist/gen/models/V1Capabilities.js';
import { V1CephFSVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1CephFSVolumeSource.js';
import { V1CinderVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1CinderVolumeSource.js';
import { V1ClusterTrustBundleProjection } from '@kubernetes/client-node/dist/gen/models/V1ClusterTrustBundleProjection.js';
import { V1ConfigMapEnvSource } from '@kubernetes/client-node/dist/gen/models/V1ConfigMapEnvSource.js';
import { V1ConfigMapKeySelector } from '@kubernetes/client-node/dist/gen/models/V1ConfigMapKeySelector.js';
import { V1ConfigMapProjection } from '@kubernetes/client-node/dist/gen/models/V1ConfigMapProjection.js';
import { V1ConfigMapVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1ConfigMapVolumeSource.js';
import { V1Container } from '@kubernetes/client-node/dist/gen/models/V1Container.js';
import { V1ContainerExtendedResourceRequest } from '@kubernetes/client-node/dist/gen/models/V1ContainerExtendedResourceRequest.js';
import { V1ContainerPort } from '@kubernetes/client-node/dist/gen/models/V1ContainerPort.js';
import { V1ContainerResizePolicy } from '@kubernetes/client-node/dist/gen/models/V1ContainerResizePolicy.js';
import { V1ContainerRestartRule } from '@kubernetes/client-node/dist/gen/models/V1ContainerRestartRule.js';
import { V1ContainerRestartRuleOnExitCodes } from '@kubernetes/client-node/dist/gen/models/V1ContainerRestartRuleOnExitCodes.js';
import { V1ContainerState } from '@kubernetes/client-node/dist/gen/models/V1ContainerState.js';
import { V1ContainerStateRunning } from '@kubernetes/client-node/dist/gen/models/V1ContainerStateRunning.js';
import { V1ContainerStateTerminated } from '@kubernetes/client-node/dist/gen/models/V1ContainerStateTerminated.js';
import { V1ContainerStateWaiting } from '@kubernetes/client-node/dist/gen/models/V1ContainerStateWaiting.js';
import { V1ContainerStatus } from '@kubernetes/client-node/dist/gen/models/V1ContainerStatus.js';
import { V1ContainerUser } from '@kubernetes/client-node/dist/gen/models/V1ContainerUser.js';
import { V1DownwardAPIProjection } from '@kubernetes/client-node/dist/gen/models/V1DownwardAPIProjection.js';
import { V1DownwardAPIVolumeFile } from '@kubernetes/client-node/dist/gen/models/V1DownwardAPIVolumeFile.js';
import { V1DownwardAPIVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1DownwardAPIVolumeSource.js';
import { V1EmptyDirVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1EmptyDirVolumeSource.js';
import { V1EnvFromSource } from '@kubernetes/client-node/dist/gen/models/V1EnvFromSource.js';
import { V1EnvVar } from '@kubernetes/client-node/dist/gen/models/V1EnvVar.js';
import { V1EnvVarSource } from '@kubernetes/client-node/dist/gen/models/V1EnvVarSource.js';
import { V1EphemeralContainer } from '@kubernetes/client-node/dist/gen/models/V1EphemeralContainer.js';
import { V1EphemeralVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1EphemeralVolumeSource.js';
import { V1EventSource } from '@kubernetes/client-node/dist/gen/models/V1EventSource.js';
import { V1ExecAction } from '@kubernetes/client-node/dist/gen/models/V1ExecAction.js';
import { V1FCVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1FCVolumeSource.js';
import { V1FileKeySelector } from '@kubernetes/client-node/dist/gen/models/V1FileKeySelector.js';
import { V1FlexVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1FlexVolumeSource.js';
import { V1FlockerVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1FlockerVolumeSource.js';
import { V1GCEPersistentDiskVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1GCEPersistentDiskVolumeSource.js';
import { V1GRPCAction } from '@kubernetes/client-node/dist/gen/models/V1GRPCAction.js';
import { V1GitRepoVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1GitRepoVolumeSource.js';
import { V1GlusterfsVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1GlusterfsVolumeSource.js';
import { V1HTTPGetAction } from '@kubernetes/client-node/dist/gen/models/V1HTTPGetAction.js';
import { V1HTTPHeader } from '@kubernetes/client-node/dist/gen/models/V1HTTPHeader.js';
import { V1HostAlias } from '@kubernetes/client-node/dist/gen/models/V1HostAlias.js';
import { V1HostIP } from '@kubernetes/client-node/dist/gen/models/V1HostIP.js';
import { V1HostPathVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1HostPathVolumeSource.js';
import { V1ISCSIVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1ISCSIVolumeSource.js';
import { V1ImageVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1ImageVolumeSource.js';
import { V1Job } from '@kubernetes/client-node/dist/gen/models/V1Job.js';
import { V1JobCondition } from '@kubernetes/client-node/dist/gen/models/V1JobCondition.js';
import { V1JobSpec } from '@kubernetes/client-node/dist/gen/models/V1JobSpec.js';
import { V1JobStatus } from '@kubernetes/client-node/dist/gen/models/V1JobStatus.js';
import { V1KeyToPath } from '@kubernetes/client-node/dist/gen/models/V1KeyToPath.js';
import { V1LabelSelector } from '@kubernetes/client-node/dist/gen/models/V1LabelSelector.js';
import { V1LabelSelectorRequirement } from '@kubernetes/client-node/dist/gen/models/V1LabelSelectorRequirement.js';
import { V1Lifecycle } from '@kubernetes/client-node/dist/gen/models/V1Lifecycle.js';
import { V1LifecycleHandler } from '@kubernetes/client-node/dist/gen/models/V1LifecycleHandler.js';
import { V1LinuxContainerUser } from '@kubernetes/client-node/dist/gen/models/V1LinuxContainerUser.js';
import { V1LocalObjectReference } from '@kubernetes/client-node/dist/gen/models/V1LocalObjectReference.js';
import { V1ManagedFieldsEntry } from '@kubernetes/client-node/dist/gen/models/V1ManagedFieldsEntry.js';
import { V1MatchCondition } from '@kubernetes/client-node/dist/gen/models/V1MatchCondition.js';
import { V1MutatingWebhook } from '@kubernetes/client-node/dist/gen/models/V1MutatingWebhook.js';
import { V1MutatingWebhookConfiguration } from '@kubernetes/client-node/dist/gen/models/V1MutatingWebhookConfiguration.js';
import { V1NFSVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1NFSVolumeSource.js';
import { V1NodeAffinity } from '@kubernetes/client-node/dist/gen/models/V1NodeAffinity.js';
import { V1NodeSelector } from '@kubernetes/client-node/dist/gen/models/V1NodeSelector.js';
import { V1NodeSelectorRequirement } from '@kubernetes/client-node/dist/gen/models/V1NodeSelectorRequirement.js';
import { V1NodeSelectorTerm } from '@kubernetes/client-node/dist/gen/models/V1NodeSelectorTerm.js';
import { V1ObjectFieldSelector } from '@kubernetes/client-node/dist/gen/models/V1ObjectFieldSelector.js';
import { V1ObjectMeta } from '@kubernetes/client-node/dist/gen/models/V1ObjectMeta.js';
import { V1ObjectReference } from '@kubernetes/client-node/dist/gen/models/V1ObjectReference.js';
import { V1OwnerReference } from '@kubernetes/client-node/dist/gen/models/V1OwnerReference.js';
import { V1PersistentVolumeClaimSpec } from '@kubernetes/client-node/dist/gen/models/V1PersistentVolumeClaimSpec.js';
import { V1PersistentVolumeClaimTemplate } from '@kubernetes/client-node/dist/gen/models/V1PersistentVolumeClaimTemplate.js';
import { V1PersistentVolumeClaimVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1PersistentVolumeClaimVolumeSource.js';
import { V1PhotonPersistentDiskVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1PhotonPersistentDiskVolumeSource.js';
import { V1Pod } from '@kubernetes/client-node/dist/gen/models/V1Pod.js';
import { V1PodAffinity } from '@kubernetes/client-node/dist/gen/models/V1PodAffinity.js';
import { V1PodAffinityTerm } from '@kubernetes/client-node/dist/gen/models/V1PodAffinityTerm.js';
import { V1PodAntiAffinity } from '@kubernetes/client-node/dist/gen/models/V1PodAntiAffinity.js';
import { V1PodCertificateProjection } from '@kubernetes/client-node/dist/gen/models/V1PodCertificateProjection.js';
import { V1PodCondition } from '@kubernetes/client-node/dist/gen/models/V1PodCondition.js';
import { V1PodDNSConfig } from '@kubernetes/client-node/dist/gen/models/V1PodDNSConfig.js';
import { V1PodDNSConfigOption } from '@kubernetes/client-node/dist/gen/models/V1PodDNSConfigOption.js';
import { V1PodExtendedResourceClaimStatus } from '@kubernetes/client-node/dist/gen/models/V1PodExtendedResourceClaimStatus.js';
import { V1PodFailurePolicy } from '@kubernetes/client-node/dist/gen/models/V1PodFailurePolicy.js';
import { V1PodFailurePolicyOnExitCodesRequirement } from '@kubernetes/client-node/dist/gen/models/V1PodFailurePolicyOnExitCodesRequirement.js';
import { V1PodFailurePolicyOnPodConditionsPattern } from '@kubernetes/client-node/dist/gen/models/V1PodFailurePolicyOnPodConditionsPattern.js';
import { V1PodFailurePolicyRule } from '@kubernetes/client-node/dist/gen/models/V1PodFailurePolicyRule.js';
import { V1PodIP } from '@kubernetes/client-node/dist/gen/models/V1PodIP.js';
import { V1PodOS } from '@kubernetes/client-node/dist/gen/models/V1PodOS.js';
import { V1PodReadinessGate } from '@kubernetes/client-node/dist/gen/models/V1PodReadinessGate.js';
import { V1PodResourceClaim } from '@kubernetes/client-node/dist/gen/models/V1PodResourceClaim.js';
import { V1PodResourceClaimStatus } from '@kubernetes/client-node/dist/gen/models/V1PodResourceClaimStatus.js';
import { V1PodSchedulingGate } from '@kubernetes/client-node/dist/gen/models/V1PodSchedulingGate.js';
import { V1PodSecurityContext } from '@kubernetes/client-node/dist/gen/models/V1PodSecurityContext.js';
import { V1PodSpec } from '@kubernetes/client-node/dist/gen/models/V1PodSpec.js';
import { V1PodStatus } from '@kubernetes/client-node/dist/gen/models/V1PodStatus.js';
import { V1PodTemplateSpec } from '@kubernetes/client-node/dist/gen/models/V1PodTemplateSpec.js';
import { V1PortworxVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1PortworxVolumeSource.js';
import { V1PreferredSchedulingTerm } from '@kubernetes/client-node/dist/gen/models/V1PreferredSchedulingTerm.js';
import { V1Probe } from '@kubernetes/client-node/dist/gen/models/V1Probe.js';
import { V1ProjectedVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1ProjectedVolumeSource.js';
import { V1QuobyteVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1QuobyteVolumeSource.js';
import { V1RBDVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1RBDVolumeSource.js';
import { V1ResourceFieldSelector } from '@kubernetes/client-node/dist/gen/models/V1ResourceFieldSelector.js';
import { V1ResourceHealth } from '@kubernetes/client-node/dist/gen/models/V1ResourceHealth.js';
import { V1ResourceRequirements } from '@kubernetes/client-node/dist/gen/models/V1ResourceRequirements.js';
import { V1ResourceStatus } from '@kubernetes/client-node/dist/gen/models/V1ResourceStatus.js';
import { V1RuleWithOperations } from '@kubernetes/client-node/dist/gen/models/V1RuleWithOperations.js';
import { V1SELinuxOptions } from '@kubernetes/client-node/dist/gen/models/V1SELinuxOptions.js';
import { V1ScaleIOVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1ScaleIOVolumeSource.js';
import { V1SeccompProfile } from '@kubernetes/client-node/dist/gen/models/V1SeccompProfile.js';
import { V1SecretEnvSource } from '@kubernetes/client-node/dist/gen/models/V1SecretEnvSource.js';
import { V1SecretKeySelector } from '@kubernetes/client-node/dist/gen/models/V1SecretKeySelector.js';
import { V1SecretProjection } from '@kubernetes/client-node/dist/gen/models/V1SecretProjection.js';
import { V1SecretVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1SecretVolumeSource.js';
import { V1SecurityContext } from '@kubernetes/client-node/dist/gen/models/V1SecurityContext.js';
import { V1ServiceAccountTokenProjection } from '@kubernetes/client-node/dist/gen/models/V1ServiceAccountTokenProjection.js';
import { V1SleepAction } from '@kubernetes/client-node/dist/gen/models/V1SleepAction.js';
import { V1StorageOSVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1StorageOSVolumeSource.js';
import { V1SuccessPolicy } from '@kubernetes/client-node/dist/gen/models/V1SuccessPolicy.js';
import { V1SuccessPolicyRule } from '@kubernetes/client-node/dist/gen/models/V1SuccessPolicyRule.js';
import { V1Sysctl } from '@kubernetes/client-node/dist/gen/models/V1Sysctl.js';
import { V1TCPSocketAction } from '@kubernetes/client-node/dist/gen/models/V1TCPSocketAction.js';
import { V1Toleration } from '@kubernetes/client-node/dist/gen/models/V1Toleration.js';
import { V1TopologySpreadConstraint } from '@kubernetes/client-node/dist/gen/models/V1TopologySpreadConstraint.js';
import { V1TypedLocalObjectReference } from '@kubernetes/client-node/dist/gen/models/V1TypedLocalObjectReference.js';
import { V1TypedObjectReference } from '@kubernetes/client-node/dist/gen/models/V1TypedObjectReference.js';
import { V1UncountedTerminatedPods } from '@kubernetes/client-node/dist/gen/models/V1UncountedTerminatedPods.js';
import { V1Volume } from '@kubernetes/client-node/dist/gen/models/V1Volume.js';
import { V1VolumeDevice } from '@kubernetes/client-node/dist/gen/models/V1VolumeDevice.js';
import { V1VolumeMount } from '@kubernetes/client-node/dist/gen/models/V1VolumeMount.js';
import { V1VolumeMountStatus } from '@kubernetes/client-node/dist/gen/models/V1VolumeMountStatus.js';
import { V1VolumeProjection } from '@kubernetes/client-node/dist/gen/models/V1VolumeProjection.js';
import { V1VolumeResourceRequirements } from '@kubernetes/client-node/dist/gen/models/V1VolumeResourceRequirements.js';
import { V1VsphereVirtualDiskVolumeSource } from '@kubernetes/client-node/dist/gen/models/V1VsphereVirtualDiskVolumeSource.js';
import { V1WeightedPodAffinityTerm } from '@kubernetes/client-node/dist/gen/models/V1WeightedPodAffinityTerm.js';
import { V1WindowsSecurityContextOptions } from '@kubernetes/client-node/dist/gen/models/V1WindowsSecurityContextOptions.js';

/** One attribute of a model: its name in the typed object, its name on the wire, its type (`V1Foo`, `Array<T>`, `{ [key: string]: T; }`, `Date`, a primitive). */
export interface ModelAttribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

export interface Model {
  readonly attributeTypeMap: readonly ModelAttribute[];
}

/** Model name → its class (only its attribute map is used). */
export const MODELS = {
  AdmissionregistrationV1ServiceReference,
  AdmissionregistrationV1WebhookClientConfig,
  CoreV1Event,
  CoreV1EventSeries,
  CoreV1ResourceClaim,
  V1AWSElasticBlockStoreVolumeSource,
  V1Affinity,
  V1AppArmorProfile,
  V1AzureDiskVolumeSource,
  V1AzureFileVolumeSource,
  V1CSIVolumeSource,
  V1Capabilities,
  V1CephFSVolumeSource,
  V1CinderVolumeSource,
  V1ClusterTrustBundleProjection,
  V1ConfigMapEnvSource,
  V1ConfigMapKeySelector,
  V1ConfigMapProjection,
  V1ConfigMapVolumeSource,
  V1Container,
  V1ContainerExtendedResourceRequest,
  V1ContainerPort,
  V1ContainerResizePolicy,
  V1ContainerRestartRule,
  V1ContainerRestartRuleOnExitCodes,
  V1ContainerState,
  V1ContainerStateRunning,
  V1ContainerStateTerminated,
  V1ContainerStateWaiting,
  V1ContainerStatus,
  V1ContainerUser,
  V1DownwardAPIProjection,
  V1DownwardAPIVolumeFile,
  V1DownwardAPIVolumeSource,
  V1EmptyDirVolumeSource,
  V1EnvFromSource,
  V1EnvVar,
  V1EnvVarSource,
  V1EphemeralContainer,
  V1EphemeralVolumeSource,
  V1EventSource,
  V1ExecAction,
  V1FCVolumeSource,
  V1FileKeySelector,
  V1FlexVolumeSource,
  V1FlockerVolumeSource,
  V1GCEPersistentDiskVolumeSource,
  V1GRPCAction,
  V1GitRepoVolumeSource,
  V1GlusterfsVolumeSource,
  V1HTTPGetAction,
  V1HTTPHeader,
  V1HostAlias,
  V1HostIP,
  V1HostPathVolumeSource,
  V1ISCSIVolumeSource,
  V1ImageVolumeSource,
  V1Job,
  V1JobCondition,
  V1JobSpec,
  V1JobStatus,
  V1KeyToPath,
  V1LabelSelector,
  V1LabelSelectorRequirement,
  V1Lifecycle,
  V1LifecycleHandler,
  V1LinuxContainerUser,
  V1LocalObjectReference,
  V1ManagedFieldsEntry,
  V1MatchCondition,
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1NFSVolumeSource,
  V1NodeAffinity,
  V1NodeSelector,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1ObjectFieldSelector,
  V1ObjectMeta,
  V1ObjectReference,
  V1OwnerReference,
  V1PersistentVolumeClaimSpec,
  V1PersistentVolumeClaimTemplate,
  V1PersistentVolumeClaimVolumeSource,
  V1PhotonPersistentDiskVolumeSource,
  V1Pod,
  V1PodAffinity,
  V1PodAffinityTerm,
  V1PodAntiAffinity,
  V1PodCertificateProjection,
  V1PodCondition,
  V1PodDNSConfig,
  V1PodDNSConfigOption,
  V1PodExtendedResourceClaimStatus,
  V1PodFailurePolicy,
  V1PodFailurePolicyOnExitCodesRequirement,
  V1PodFailurePolicyOnPodConditionsPattern,
  V1PodFailurePolicyRule,
  V1PodIP,
  V1PodOS,
  V1PodReadinessGate,
  V1PodResourceClaim,
  V1PodResourceClaimStatus,
  V1PodSchedulingGate,
  V1PodSecurityContext,
  V1PodSpec,
  V1PodStatus,
  V1PodTemplateSpec,
  V1PortworxVolumeSource,
  V1PreferredSchedulingTerm,
  V1Probe,
  V1ProjectedVolumeSource,
  V1QuobyteVolumeSource,
  V1RBDVolumeSource,
  V1ResourceFieldSelector,
  V1ResourceHealth,
  V1ResourceRequirements,
  V1ResourceStatus,
  V1RuleWithOperations,
  V1SELinuxOptions,
  V1ScaleIOVolumeSource,
  V1SeccompProfile,
  V1SecretEnvSource,
  V1SecretKeySelector,
  V1SecretProjection,
  V1SecretVolumeSource,
  V1SecurityContext,
  V1ServiceAccountTokenProjection,
  V1SleepAction,
  V1StorageOSVolumeSource,
  V1SuccessPolicy,
  V1SuccessPolicyRule,
  V1Sysctl,
  V1TCPSocketAction,
  V1Toleration,
  V1TopologySpreadConstraint,
  V1TypedLocalObjectReference,
  V1TypedObjectReference,
  V1UncountedTerminatedPods,
  V1Volume,
  V1VolumeDevice,
  V1VolumeMount,
  V1VolumeMountStatus,
  V1VolumeProjection,
  V1VolumeResourceRequirements,
  V1VsphereVirtualDiskVolumeSource,
  V1WeightedPodAffinityTerm,
  V1WindowsSecurityContextOptions,
} satisfies Readonly<Record<string, Model>>;

/** A model of the table, e.g. 'V1Job', 'CoreV1Event', 'V1Container'. */
export type ModelName = keyof typeof MODELS;

/** The model named `type`, if the table has it (other types pass through the codec unchanged, as client-node's does). */
export function modelNamed(type: string): Model | undefined {
  return Object.hasOwn(MODELS, type) ? (MODELS as Record<string, Model>)[type] : undefined;
}
