package cli

import (
	"sort"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// printer turns objects of one kind into table rows.
type printer struct {
	// headers are the columns of the default table.
	headers []string
	// wide are the extra columns of -o wide, after headers.
	wide []string
	// row returns one cell per header and per wide column.
	row func(o v1.Object, now time.Time) []string
}

// printers is the table of every kind's columns, by resource. A new kind
// adds a row here; a kind without one prints NAME and AGE.
func printers() map[string]printer {
	return map[string]printer{
		"pods": {headers: cols("NAME", "READY", "STATUS", "RESTARTS", "AGE"), wide: cols("IP", "NODE"),
			row: typed(podRow)},
		"nodes": {headers: cols("NAME", "STATUS", "ROLES", "AGE", "VERSION"), wide: cols("INTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CGROUP"),
			row: typed(nodeRow)},
		"services": {headers: cols("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"), wide: cols("SELECTOR"),
			row: typed(serviceRow)},
		"endpoints": {headers: cols("NAME", "ENDPOINTS", "AGE"),
			row: typed(endpointsRow)},
		"petsets": {headers: cols("NAME", "READY", "CURRENT", "UPDATED", "AGE"), wide: cols("SERVICE", "CURRENT-PETS", "UPDATED-PETS"),
			row: typed(petSetRow)},
		"deployments": {headers: cols("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"), wide: cols("CONTAINERS", "IMAGES", "SELECTOR"),
			row: typed(deploymentRow)},
		"persistentvolumeclaims": {headers: cols("NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "AGE"), wide: cols("VOLUMEMODE"),
			row: typed(pvcRow)},
		"persistentvolumes": {headers: cols("NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "AGE"), wide: cols("VOLUMEMODE"),
			row: typed(pvRow)},
		"storageclasses": {headers: cols("NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"),
			row: typed(storageClassRow)},
		"namespaces": {headers: cols("NAME", "STATUS", "AGE"),
			row: typed(namespaceRow)},
		"events": {headers: cols("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"), wide: cols("SOURCE", "FIRST SEEN", "COUNT", "NAME"),
			row: typed(eventRow)},
		"leases": {headers: cols("NAME", "HOLDER", "AGE"),
			row: typed(leaseRow)},
		"configmaps": {headers: cols("NAME", "DATA", "AGE"),
			row: typed(configMapRow)},
		"secrets": {headers: cols("NAME", "TYPE", "DATA", "AGE"),
			row: typed(secretRow)},
		"controllerrevisions": {headers: cols("NAME", "CONTROLLER", "REVISION", "AGE"),
			row: typed(controllerRevisionRow)},
		"clusters": {headers: cols("NAME", "REGION", "READY", "AGE"), wide: cols("ZONES", "API-ENDPOINT"),
			row: typed(clusterRow)},
		"migrations": {headers: cols("NAME", "PET", "FROM", "TO", "PHASE", "PROGRESS", "AGE"), wide: cols("MESSAGE"),
			row: typed(migrationRow)},
	}
}

// cols lists column names.
func cols(names ...string) []string { return names }

// printerFor returns the kind's printer, or NAME AGE.
func printerFor(k *v1.Kind) printer {
	if p, ok := printers()[k.Resource]; ok {
		return p
	}
	return printer{
		headers: []string{"NAME", "AGE"},
		row: func(o v1.Object, now time.Time) []string {
			m := o.GetObjectMeta()
			return []string{m.Name, age(m.CreationTimestamp, now)}
		},
	}
}

// typed adapts a row function of one Go type to printer.row. An object
// of another type (which the client never returns) prints its name.
func typed[T v1.Object](f func(T, time.Time) []string) func(v1.Object, time.Time) []string {
	return func(o v1.Object, now time.Time) []string {
		t, ok := o.(T)
		if !ok {
			return []string{o.GetObjectMeta().Name}
		}
		return f(t, now)
	}
}

// tableOptions are the table flags of get.
type tableOptions struct {
	wide          bool
	allNamespaces bool
	showLabels    bool
	noHeaders     bool
}

// header is the header row for kind k.
func (p printer) header(k *v1.Kind, o tableOptions) []string {
	var h []string
	if o.allNamespaces && k.Namespaced {
		h = append(h, "NAMESPACE")
	}
	h = append(h, p.headers...)
	if o.wide {
		h = append(h, p.wide...)
	}
	if o.showLabels {
		h = append(h, "LABELS")
	}
	return h
}

// cells is the row of one object, with the same columns as header.
func (p printer) cells(k *v1.Kind, obj v1.Object, o tableOptions, now time.Time) []string {
	var r []string
	m := obj.GetObjectMeta()
	if o.allNamespaces && k.Namespaced {
		r = append(r, m.Namespace)
	}
	all := p.row(obj, now)
	n := len(p.headers)
	if o.wide {
		n += len(p.wide)
	}
	for i := range n {
		if i < len(all) {
			r = append(r, all[i])
		} else {
			r = append(r, "")
		}
	}
	if o.showLabels {
		r = append(r, labelString(m.Labels))
	}
	return r
}

// rows is the header and one row per object.
func (p printer) rows(k *v1.Kind, objs []v1.Object, o tableOptions, now time.Time) [][]string {
	var out [][]string
	if !o.noHeaders {
		out = append(out, p.header(k, o))
	}
	for _, obj := range objs {
		out = append(out, p.cells(k, obj, o, now))
	}
	return out
}

// sortForTable orders events by when they were last seen, oldest first,
// as a log reads; other kinds keep the server's order (by name).
func sortForTable(k *v1.Kind, objs []v1.Object) {
	if k.Resource != "events" {
		return
	}
	sort.SliceStable(objs, func(i, j int) bool {
		a, _ := objs[i].(*v1.Event)
		b, _ := objs[j].(*v1.Event)
		if a == nil || b == nil {
			return false
		}
		return eventLastSeen(a).Before(eventLastSeen(b))
	})
}
