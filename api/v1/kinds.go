package v1

import "fmt"

// Version sets of the built-in kinds; the first one is written on output.
// Each call returns a fresh slice so no two kinds share one.
func coreVersions() []string    { return []string{"v1", "kennel.io/v1"} }
func appsVersions() []string    { return []string{"apps/v1", "kennel.io/v1"} }
func storageVersions() []string { return []string{"storage.k8s.io/v1", "kennel.io/v1"} }

// petSetVersions puts kennel.io/v1 first because PetSet is Kennel's own
// kind; apps/v1 is accepted so StatefulSet manifests apply unchanged.
func petSetVersions() []string     { return []string{"kennel.io/v1", "apps/v1"} }
func federationVersions() []string { return []string{"kennel.io/v1"} }

// builtinKinds lists every kind the API serves.
func builtinKinds() []*Kind {
	return []*Kind{
		{
			Kind: "Namespace", Resource: "namespaces", Singular: "namespace", ShortNames: []string{"ns"},
			APIVersions: coreVersions(), HasStatus: true,
			New:      func() Object { return &Namespace{} },
			Default:  defaulter(defaultNamespace),
			Validate: validator(validateNamespace),
		},
		{
			Kind: "Node", Resource: "nodes", Singular: "node", ShortNames: []string{"no"},
			APIVersions: coreVersions(), HasStatus: true,
			New:      func() Object { return &Node{} },
			Default:  defaulter(defaultNode),
			Validate: validator(validateNode),
		},
		{
			Kind: "Lease", Resource: "leases", Singular: "lease",
			APIVersions: []string{"coordination.k8s.io/v1", "kennel.io/v1"}, Namespaced: true,
			New:      func() Object { return &Lease{} },
			Validate: validator(validateLease),
		},
		{
			Kind: "Pod", Resource: "pods", Singular: "pod", ShortNames: []string{"po"},
			APIVersions: coreVersions(), Namespaced: true, HasStatus: true,
			New:            func() Object { return &Pod{} },
			Default:        defaulter(defaultPod),
			Validate:       validator(validatePod),
			ValidateUpdate: updateValidator(validatePodUpdate),
		},
		{
			Kind: "Service", Resource: "services", Singular: "service", ShortNames: []string{"svc"},
			APIVersions: coreVersions(), Namespaced: true, HasStatus: true,
			New:            func() Object { return &Service{} },
			Default:        defaulter(defaultService),
			Validate:       validator(validateService),
			ValidateUpdate: updateValidator(validateServiceUpdate),
		},
		{
			Kind: "Endpoints", Resource: "endpoints", Singular: "endpoints", ShortNames: []string{"ep"},
			APIVersions: coreVersions(), Namespaced: true,
			New:      func() Object { return &Endpoints{} },
			Default:  defaulter(defaultEndpoints),
			Validate: validator(validateEndpoints),
		},
		{
			Kind: "PetSet", Aliases: []string{"StatefulSet"}, Resource: "petsets", Singular: "petset",
			ShortNames: []string{"ps", "sts"}, APIVersions: petSetVersions(), Namespaced: true, HasStatus: true,
			New:            func() Object { return &PetSet{} },
			Default:        defaulter(defaultPetSet),
			Validate:       validator(validatePetSet),
			ValidateUpdate: updateValidator(validatePetSetUpdate),
		},
		{
			Kind: "Deployment", Resource: "deployments", Singular: "deployment", ShortNames: []string{"deploy"},
			APIVersions: appsVersions(), Namespaced: true, HasStatus: true,
			New:            func() Object { return &Deployment{} },
			Default:        defaulter(defaultDeployment),
			Validate:       validator(validateDeployment),
			ValidateUpdate: updateValidator(validateDeploymentUpdate),
		},
		{
			Kind: "ControllerRevision", Resource: "controllerrevisions", Singular: "controllerrevision",
			APIVersions: appsVersions(), Namespaced: true,
			New:            func() Object { return &ControllerRevision{} },
			Validate:       validator(validateControllerRevision),
			ValidateUpdate: updateValidator(validateControllerRevisionUpdate),
		},
		{
			Kind: "PersistentVolumeClaim", Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim",
			ShortNames: []string{"pvc"}, APIVersions: coreVersions(), Namespaced: true, HasStatus: true,
			New:            func() Object { return &PersistentVolumeClaim{} },
			Default:        defaulter(defaultPVC),
			Validate:       validator(validatePVC),
			ValidateUpdate: updateValidator(validatePVCUpdate),
		},
		{
			Kind: "PersistentVolume", Resource: "persistentvolumes", Singular: "persistentvolume",
			ShortNames: []string{"pv"}, APIVersions: coreVersions(), HasStatus: true,
			New:            func() Object { return &PersistentVolume{} },
			Default:        defaulter(defaultPV),
			Validate:       validator(validatePV),
			ValidateUpdate: updateValidator(validatePVUpdate),
		},
		{
			Kind: "StorageClass", Resource: "storageclasses", Singular: "storageclass", ShortNames: []string{"sc"},
			APIVersions:    storageVersions(),
			New:            func() Object { return &StorageClass{} },
			Default:        defaulter(defaultStorageClass),
			Validate:       validator(validateStorageClass),
			ValidateUpdate: updateValidator(validateStorageClassUpdate),
		},
		{
			Kind: "Event", Resource: "events", Singular: "event", ShortNames: []string{"ev"},
			APIVersions: coreVersions(), Namespaced: true,
			New:      func() Object { return &Event{} },
			Validate: validator(validateEvent),
		},
		{
			Kind: "ConfigMap", Resource: "configmaps", Singular: "configmap", ShortNames: []string{"cm"},
			APIVersions: coreVersions(), Namespaced: true,
			New:            func() Object { return &ConfigMap{} },
			Validate:       validator(validateConfigMap),
			ValidateUpdate: updateValidator(validateConfigMapUpdate),
		},
		{
			Kind: "Secret", Resource: "secrets", Singular: "secret",
			APIVersions: coreVersions(), Namespaced: true,
			New:            func() Object { return &Secret{} },
			Default:        defaulter(defaultSecret),
			Validate:       validator(validateSecret),
			ValidateUpdate: updateValidator(validateSecretUpdate),
		},
		{
			Kind: "Cluster", Resource: "clusters", Singular: "cluster",
			APIVersions: federationVersions(), HasStatus: true,
			New:      func() Object { return &Cluster{} },
			Validate: validator(validateCluster),
		},
		{
			Kind: "Placement", Resource: "placements", Singular: "placement",
			APIVersions: federationVersions(), Namespaced: true, HasStatus: true,
			New:      func() Object { return &Placement{} },
			Default:  defaulter(defaultPlacement),
			Validate: validator(validatePlacement),
		},
		{
			Kind: "Work", Resource: "works", Singular: "work",
			APIVersions: federationVersions(), Namespaced: true, HasStatus: true,
			New:      func() Object { return &Work{} },
			Validate: validator(validateWork),
		},
		{
			Kind: "FederatedEndpoints", Resource: "federatedendpoints", Singular: "federatedendpoints",
			APIVersions: federationVersions(), Namespaced: true,
			New:      func() Object { return &FederatedEndpoints{} },
			Validate: validator(validateFederatedEndpoints),
		},
		{
			Kind: "Migration", Resource: "migrations", Singular: "migration",
			APIVersions: federationVersions(), Namespaced: true, HasStatus: true,
			New:            func() Object { return &Migration{} },
			Validate:       validator(validateMigration),
			ValidateUpdate: updateValidator(validateMigrationUpdate),
		},
	}
}

// defaulter adapts a typed default function to Kind.Default; an object of
// another type is left alone.
func defaulter[T Object](f func(T)) func(Object) {
	return func(o Object) {
		if t, ok := o.(T); ok {
			f(t)
		}
	}
}

// validator adapts a typed validation function to Kind.Validate.
func validator[T Object](f func(T) FieldErrors) func(Object) FieldErrors {
	return func(o Object) FieldErrors {
		t, ok := o.(T)
		if !ok {
			return FieldErrors{wrongType[T](o)}
		}
		return f(t)
	}
}

// updateValidator adapts a typed update check to Kind.ValidateUpdate.
func updateValidator[T Object](f func(old, new T) FieldErrors) func(old, new Object) FieldErrors {
	return func(old, new Object) FieldErrors {
		o, ok1 := old.(T)
		n, ok2 := new.(T)
		if !ok1 {
			return FieldErrors{wrongType[T](old)}
		}
		if !ok2 {
			return FieldErrors{wrongType[T](new)}
		}
		return f(o, n)
	}
}

func wrongType[T Object](o Object) FieldError {
	var want T
	return FieldError{Type: FieldInvalid, Field: "kind", Detail: fmt.Sprintf("object is a %T, not a %T", o, want)}
}
