package bench

import (
	"context"
	"testing"

	"github.com/kennel-dev/kennel/internal/testcluster"
)

func BenchmarkProf64(b *testing.B) {
	cl := testcluster.Start(b)
	b.ResetTimer()
	r, err := MeasureWrites(context.Background(), cl.Store.Client(), cl.Admin, "p", 64, 15000)
	if err != nil {
		b.Fatal(err)
	}
	b.Log(r)
}
