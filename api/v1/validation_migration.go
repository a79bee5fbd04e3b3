package v1

import "reflect"

func validateMigration(m *Migration) FieldErrors {
	errs := validateObjectMeta(&m.ObjectMeta, true, dnsSubdomain)
	p := fieldPath("spec")
	errs = append(errs, requiredName(p.Child("petSet"), m.Spec.PetSet, dnsSubdomain)...)
	errs = append(errs, requiredName(p.Child("to"), m.Spec.To, dnsLabel)...)
	if m.Spec.Ordinal < 0 {
		errs = append(errs, Invalid(p.Child("ordinal").String(), m.Spec.Ordinal, "must not be negative"))
	}
	return errs
}

// A Migration's spec cannot change: the pet may already be stopped in its
// source, or its data on the way.
func validateMigrationUpdate(old, new *Migration) FieldErrors {
	if !reflect.DeepEqual(old.Spec, new.Spec) {
		return FieldErrors{Immutable("spec")}
	}
	return nil
}
