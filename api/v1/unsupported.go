package v1

import "reflect"

// unsupportedFields lists the Kubernetes fields Kennel knowingly does not
// support, per Go type and JSON name, with why. Decoding rejects such a
// field with "<path>: not supported by Kennel" instead of "unknown field",
// unless its value is the Kubernetes default (null, false, 0, "", {} or
// []), which asks for nothing Kennel lacks. This is the one place to list
// them.
func unsupportedFields() map[reflect.Type]map[string]string {
	hostNamespaces := "pods never share the node's namespaces"
	noImages := "the process runtime has no images"
	noSecurityModules := "the process runtime applies no Linux security modules or capabilities"
	volumeSources := map[string]string{
		"nfs": "", "iscsi": "", "csi": "CSI comes later; use flexVolume", "rbd": "", "cephfs": "", "cinder": "",
		"fc": "", "glusterfs": "", "awsElasticBlockStore": "", "gcePersistentDisk": "", "azureDisk": "",
		"azureFile": "", "vsphereVolume": "", "portworxVolume": "", "scaleIO": "", "storageos": "",
		"quobyte": "", "photonPersistentDisk": "", "flocker": "",
	}
	podVolumeSources := map[string]string{
		"projected": "", "downwardAPI": "use env fieldRef", "ephemeral": "", "image": noImages, "gitRepo": "",
	}
	for k, v := range volumeSources {
		podVolumeSources[k] = v
	}
	return map[reflect.Type]map[string]string{
		reflect.TypeFor[ObjectMeta](): {
			"managedFields": "Kennel has no server-side apply",
		},
		reflect.TypeFor[PodSpec](): {
			"hostNetwork":                  hostNamespaces,
			"hostPID":                      hostNamespaces,
			"hostIPC":                      hostNamespaces,
			"hostUsers":                    hostNamespaces,
			"shareProcessNamespace":        "containers of a pod do not share a PID namespace",
			"imagePullSecrets":             noImages,
			"automountServiceAccountToken": "Kennel mounts no service account tokens",
			"runtimeClassName":             "",
			"hostAliases":                  "",
			"readinessGates":               "",
			"dnsConfig":                    "",
			"overhead":                     "",
			"os":                           "",
			"ephemeralContainers":          "",
			"resourceClaims":               "",
			"preemptionPolicy":             "",
			"setHostnameAsFQDN":            "",
			"enableServiceLinks":           "Kennel injects no service environment variables",
		},
		reflect.TypeFor[Container](): {
			"lifecycle":     "",
			"volumeDevices": "",
			"stdin":         "",
			"stdinOnce":     "",
			"tty":           "",
			"resizePolicy":  "",
			"restartPolicy": "sidecar containers are not supported",
		},
		reflect.TypeFor[SecurityContext](): {
			"privileged":               noSecurityModules,
			"capabilities":             noSecurityModules,
			"allowPrivilegeEscalation": noSecurityModules,
			"readOnlyRootFilesystem":   noImages,
			"seLinuxOptions":           noSecurityModules,
			"seccompProfile":           noSecurityModules,
			"appArmorProfile":          noSecurityModules,
			"procMount":                noSecurityModules,
			"windowsOptions":           "",
		},
		reflect.TypeFor[PodSecurityContext](): {
			"seLinuxOptions":      noSecurityModules,
			"seccompProfile":      noSecurityModules,
			"appArmorProfile":     noSecurityModules,
			"sysctls":             "",
			"supplementalGroups":  "",
			"fsGroupChangePolicy": "",
			"windowsOptions":      "",
		},
		reflect.TypeFor[ServiceSpec](): {
			"externalIPs":                   "Kennel has no virtual IPs",
			"loadBalancerIP":                noNodePorts,
			"loadBalancerSourceRanges":      noNodePorts,
			"loadBalancerClass":             noNodePorts,
			"allocateLoadBalancerNodePorts": noNodePorts,
			"healthCheckNodePort":           noNodePorts,
			"externalTrafficPolicy":         noNodePorts,
			"sessionAffinityConfig":         "",
			"trafficDistribution":           "",
		},
		reflect.TypeFor[VolumeSource]():           podVolumeSources,
		reflect.TypeFor[PersistentVolumeSource](): volumeSources,
		reflect.TypeFor[PersistentVolumeClaimSpec](): {
			"dataSource":                "",
			"dataSourceRef":             "",
			"volumeAttributesClassName": "",
		},
	}
}
