package dns

import (
	"sync"

	mdns "github.com/miekg/dns"
)

// zoneOwner is the owner key of the zone's own records (no service key is
// empty).
const zoneOwner = ""

// index holds every published name. Writers replace one owner's records
// at a time; readers take the read lock for one map read and get an
// immutable rrset.
type index struct {
	mu     sync.RWMutex
	owners map[string]*svcRecords
	names  map[string]*rrset
	// ents counts, per empty non-terminal, the owners whose names are
	// below it.
	ents map[string]int
	// ptrs is the merged view of ptrOwners that queries read.
	ptrs      map[string][]mdns.RR
	ptrOwners map[string]map[string]ptrRecord
}

func newIndex() *index {
	return &index{
		owners: map[string]*svcRecords{}, names: map[string]*rrset{}, ents: map[string]int{},
		ptrs: map[string][]mdns.RR{}, ptrOwners: map[string]map[string]ptrRecord{},
	}
}

// lookup returns the records of name (lowercase, fully qualified) and
// whether the name exists; an empty non-terminal exists with no records.
func (ix *index) lookup(name string) (*rrset, bool) {
	ix.mu.RLock()
	rs, ok := ix.names[name]
	if !ok {
		ok = ix.ents[name] > 0
	}
	ix.mu.RUnlock()
	return rs, ok
}

// lookupPTR returns the PTR records of a reverse name, nil if none.
func (ix *index) lookupPTR(name string) []mdns.RR {
	ix.mu.RLock()
	rrs := ix.ptrs[name]
	ix.mu.RUnlock()
	return rrs
}

// replace swaps owner's records for rec; nil removes them.
func (ix *index) replace(owner string, rec *svcRecords) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old := ix.owners[owner]; old != nil {
		ix.remove(owner, old)
	}
	if rec == nil {
		delete(ix.owners, owner)
		return
	}
	ix.owners[owner] = rec
	for n, rs := range rec.names {
		ix.names[n] = rs
	}
	for _, n := range rec.ents {
		ix.ents[n]++
	}
	for rev, p := range rec.ptrs {
		m := ix.ptrOwners[rev]
		if m == nil {
			m = map[string]ptrRecord{}
			ix.ptrOwners[rev] = m
		}
		m[owner] = p
		ix.mergePTR(rev)
	}
}

func (ix *index) remove(owner string, old *svcRecords) {
	for n, rs := range old.names {
		// Another owner may have taken the name since; leave it then.
		if ix.names[n] == rs {
			delete(ix.names, n)
		}
	}
	for _, n := range old.ents {
		if ix.ents[n]--; ix.ents[n] <= 0 {
			delete(ix.ents, n)
		}
	}
	for rev := range old.ptrs {
		delete(ix.ptrOwners[rev], owner)
		ix.mergePTR(rev)
	}
}

// mergePTR picks the PTR that answers rev among every owner's: an IP can
// be an endpoint of several services.
func (ix *index) mergePTR(rev string) {
	var best ptrRecord
	for _, p := range ix.ptrOwners[rev] {
		if best.answer == nil || p.better(best) {
			best = p
		}
	}
	if best.answer == nil {
		delete(ix.ptrOwners, rev)
		delete(ix.ptrs, rev)
		return
	}
	ix.ptrs[rev] = best.answer
}

// size is the number of names with records, for logs and tests.
func (ix *index) size() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.names)
}
