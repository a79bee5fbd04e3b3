package petset

// Event reasons this controller reports on PetSets, with Kubernetes'
// StatefulSet names.
const (
	// ReasonSuccessfulCreate: a pet's pod or claim was created.
	ReasonSuccessfulCreate = "SuccessfulCreate"
	// ReasonFailedCreate: a pet's pod or claim could not be created.
	ReasonFailedCreate = "FailedCreate"
	// ReasonSuccessfulDelete: a pet's pod was deleted (scale-down,
	// update, or replacement of a finished pod).
	ReasonSuccessfulDelete = "SuccessfulDelete"
	// ReasonFailedDelete: a pet's pod could not be deleted.
	ReasonFailedDelete = "FailedDelete"
	// ReasonSuccessfulUpdate: an adopted pod got its identity labels.
	ReasonSuccessfulUpdate = "SuccessfulUpdate"
	// ReasonFailedUpdate: a pod's identity labels could not be written.
	ReasonFailedUpdate = "FailedUpdate"
	// ReasonRecreatingFailedPod: a Failed pet is deleted, to be created
	// again once its pod object is gone.
	ReasonRecreatingFailedPod = "RecreatingFailedPod"
	// ReasonRecreatingTerminatedPod: the same for a Succeeded pet.
	ReasonRecreatingTerminatedPod = "RecreatingTerminatedPod"
	// ReasonStorageMismatch: an adopted pod does not mount its pet's
	// claims; a pod's volumes cannot change, so it keeps running as it
	// is until it is deleted and the pet is created again.
	ReasonStorageMismatch = "StorageMismatch"
	// ReasonWaitingForStaleClaim: a pet waits to be created until a
	// claim that a scaled-down predecessor owned is garbage collected.
	ReasonWaitingForStaleClaim = "WaitingForStaleClaim"
)

// component is the source of this controller's events.
const component = "petset-controller"
