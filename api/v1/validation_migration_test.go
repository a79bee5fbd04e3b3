package v1

import "testing"

func validMigration() *Migration {
	return &Migration{ObjectMeta: meta("db-2-to-eu-2"), Spec: MigrationSpec{PetSet: "db", Ordinal: 2, To: "eu-2"}}
}

func TestValidateMigration(t *testing.T) {
	t.Parallel()
	runValidate(t, validMigration, []vcase[*Migration]{
		{"valid", nil, nil},
		{"no petSet", func(m *Migration) { m.Spec.PetSet = "" }, []string{"spec.petSet"}},
		{"no cluster", func(m *Migration) { m.Spec.To = "" }, []string{"spec.to"}},
		{"cluster not a DNS label", func(m *Migration) { m.Spec.To = "eu.2" }, []string{"spec.to"}},
		{"negative ordinal", func(m *Migration) { m.Spec.Ordinal = -1 }, []string{"spec.ordinal"}},
	})
	runValidateUpdate(t, validMigration, []ucase[*Migration]{
		{"labels may change", func(m *Migration) { m.Labels = map[string]string{"a": "b"} }, nil},
		{"status may change", func(m *Migration) { m.Status.Phase = MigrationCopying }, nil},
		{"the target may not", func(m *Migration) { m.Spec.To = "eu-3" }, []string{"spec"}},
	})
}
