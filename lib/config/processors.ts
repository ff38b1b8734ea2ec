/**
 * Which processor names the configuration accepts. Besides our short names,
 * the Python class paths of 52°North's manager (current `pygeoapi_k8s_manager`
 * and older `pygeoapi_kubernetes_manager` package, with or without the module)
 * are accepted so that an existing pygeoapi configuration loads unchanged.
 */

export type ProcessKind = 'generic-image' | 'hello-world' | 'echo';

const PYTHON_PACKAGES = ['pygeoapi_k8s_manager', 'pygeoapi_kubernetes_manager'];

function pythonNames(className: string, moduleName: string): string[] {
  return PYTHON_PACKAGES.flatMap((pkg) => [`${pkg}.process.${className}`, `${pkg}.process.${moduleName}.${className}`]);
}

export const PROCESSOR_NAMES: Readonly<Record<ProcessKind, readonly string[]>> = {
  'generic-image': ['GenericImageProcessor', ...pythonNames('GenericImageProcessor', 'generic_image')],
  'hello-world': ['HelloWorldK8sProcessor', ...pythonNames('HelloWorldK8sProcessor', 'hello_world_k8s')],
  echo: ['Echo'],
};

export const ALL_PROCESSOR_NAMES: readonly string[] = Object.values(PROCESSOR_NAMES).flat();

export function processKindOf(name: string): ProcessKind | undefined {
  for (const [kind, names] of Object.entries(PROCESSOR_NAMES) as Array<[ProcessKind, readonly string[]]>) {
    if (names.includes(name)) return kind;
  }
  return undefined;
}

/** `server.manager.name` values of the Python manager; any other name gets a warning. */
export const KUBERNETES_MANAGER_NAMES: readonly string[] = [
  'KubernetesManager',
  ...PYTHON_PACKAGES.flatMap((pkg) => [`${pkg}.KubernetesManager`, `${pkg}.manager.KubernetesManager`]),
];

/** Whether executions need the `token` input when `check_auth` is not given (the Python defaults). */
export const DEFAULT_CHECK_AUTH: Readonly<Record<ProcessKind, boolean>> = {
  'generic-image': true,
  'hello-world': false,
  echo: false,
};
