package v1

// Moving a pet with its data between member clusters (kennel federation
// migrate). The federation drives a Migration; the source member's agent
// lets the node holding each of the pet's volumes export it, and the
// target member's agent pre-creates the pet's claims marked to be filled
// from those exports before the pet's first container starts.

// Migration moves one pet of a divided, federated PetSet, with the data of
// its claims, from the member cluster that runs it to another
// (NamespaceFederation is not required: a Migration lives in the PetSet's
// namespace on the federation).
type Migration struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       MigrationSpec   `json:"spec"`
	Status     MigrationStatus `json:"status,omitempty"`
}

// MigrationSpec names the pet and where it goes.
type MigrationSpec struct {
	// PetSet is the name of the federated PetSet, in the Migration's
	// namespace.
	PetSet string `json:"petSet"`
	// Ordinal is the pet's ordinal.
	Ordinal int32 `json:"ordinal"`
	// To is the member cluster the pet moves to.
	To string `json:"to"`
}

// MigrationPhase is where a Migration is.
type MigrationPhase string

// Phases of a Migration, in order; Failed ends one that cannot go on.
const (
	MigrationPending   MigrationPhase = "Pending"
	MigrationStopping  MigrationPhase = "Stopping"  // the pet is stopped in the source
	MigrationExporting MigrationPhase = "Exporting" // the source offers its volumes
	MigrationCopying   MigrationPhase = "Copying"   // the target pulls them; the pet starts after
	MigrationCleanup   MigrationPhase = "CleaningUp"
	MigrationSucceeded MigrationPhase = "Succeeded"
	MigrationFailed    MigrationPhase = "Failed"
)

// MigrationStatus is the Migration's progress.
type MigrationStatus struct {
	Phase MigrationPhase `json:"phase,omitempty"`
	// From is the member the pet ran in when the Migration started.
	From string `json:"from,omitempty"`
	// Pet is the pet's name.
	Pet     string `json:"pet,omitempty"`
	Message string `json:"message,omitempty"`
	// Volumes are the pet's claims and how far their copy is.
	Volumes            []VolumeRestoreStatus `json:"volumes,omitempty"`
	BytesDone          int64                 `json:"bytesDone,omitempty"`
	BytesTotal         int64                 `json:"bytesTotal,omitempty"`
	StartTime          *Time                 `json:"startTime,omitempty"`
	CompletionTime     *Time                 `json:"completionTime,omitempty"`
	ObservedGeneration int64                 `json:"observedGeneration,omitempty"`
}

// Annotations of volume migration.
const (
	// AnnotationExportTokenSHA256 on a claim lets the agent of the node
	// that holds its volume serve the volume's files to a bearer of a
	// token with this SHA-256 (hex), while no pod on the node uses the
	// claim.
	AnnotationExportTokenSHA256 = "kennel.io/export-token-sha256"
	// AnnotationRestoreFrom on a claim (a RestoreSource as JSON) makes the
	// agent fill the claim's volume from another agent's export before the
	// first container of a pod that uses the claim starts; once per
	// RestoreSource.ID.
	AnnotationRestoreFrom = "kennel.io/restore-from"
	// AnnotationMigrateOut on a member's PetSet (a MigrateOut as JSON)
	// asks the member to stop a pet (the Work's share already leaves it
	// out) and export its claims.
	AnnotationMigrateOut = "kennel.io/migrate-out"
	// AnnotationMigrateIn on a member's PetSet (a MigrateIn as JSON) asks
	// the member to create a pet's claims filled from the exports before
	// the pet starts.
	AnnotationMigrateIn = "kennel.io/migrate-in"
)

// RestoreSource is where an agent pulls a volume from.
type RestoreSource struct {
	// ID identifies the migration: a volume is restored once per ID.
	ID string `json:"id"`
	// URL is the source agent's export of the claim:
	// https://<node address>:<agent port>/volumes/<namespace>/<claim>.
	URL string `json:"url"`
	// CertSHA256 pins the source agent's serving certificate (hex).
	CertSHA256 string `json:"certSHA256"`
	// Token is the bearer token the export accepts.
	Token string `json:"token"`
}

// MigrateOut is what a source member is asked to do for a migration.
type MigrateOut struct {
	ID      string `json:"id"`
	Ordinal int32  `json:"ordinal"`
	// TokenSHA256 is the hash of the token the target presents.
	TokenSHA256 string `json:"tokenSHA256"`
	// Done: the pet runs in the target; the source deletes its claims.
	Done bool `json:"done,omitempty"`
}

// MigrateIn is what a target member is asked to do for a migration.
type MigrateIn struct {
	ID      string `json:"id"`
	Ordinal int32  `json:"ordinal"`
	// Sources are the exports of the pet's claims, by claim name.
	Sources map[string]RestoreSource `json:"sources"`
}

// VolumeExport is one claim a source member exports, as it reports it:
// one per claim template of the pet; without a URL when the pet has no
// such claim (nothing to copy).
type VolumeExport struct {
	// ID is the migration's (MigrateOut.ID).
	ID         string `json:"id"`
	Claim      string `json:"claim"`
	URL        string `json:"url"`
	CertSHA256 string `json:"certSHA256"`
}

// VolumeRestoreStatus is how far an agent is in filling a claim's volume
// from an export (PodStatus.VolumeRestores; summed in MigrationStatus).
type VolumeRestoreStatus struct {
	Claim      string `json:"claim"`
	ID         string `json:"id,omitempty"`
	BytesDone  int64  `json:"bytesDone"`
	BytesTotal int64  `json:"bytesTotal"`
	Files      int    `json:"files,omitempty"`
	FilesTotal int    `json:"filesTotal,omitempty"`
	// Done: every file is copied and its checksum matched.
	Done bool `json:"done,omitempty"`
	// Message says why the copy is retried, when it failed.
	Message string `json:"message,omitempty"`
}

// WorkMigration is what a member reports of a migration it takes part in.
type WorkMigration struct {
	// ID is the migration's.
	ID string `json:"id"`
	// Source side: Stopped, the pet's pod is gone; Exports, the pet's
	// claims offered to the target; ClaimsDeleted, the claims are deleted
	// after the pet runs in the target.
	Stopped       bool           `json:"stopped,omitempty"`
	Exports       []VolumeExport `json:"exports,omitempty"`
	ClaimsDeleted bool           `json:"claimsDeleted,omitempty"`
	// Target side: Restores, how far the pet's claims are filled;
	// Running, the pet runs and is Ready with its data.
	Restores []VolumeRestoreStatus `json:"restores,omitempty"`
	Running  bool                  `json:"running,omitempty"`
	// Message says what the member waits for or why it cannot go on.
	Message string `json:"message,omitempty"`
}
