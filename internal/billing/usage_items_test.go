package billing

import (
	"bytes"
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// usageItemsRef is the plain grouping (a map, then a sort of all items)
// usageItems must agree with.
// (usageItemsRef sums priced rows into the usage endpoint's items, and by cost
// center too when byCostCenter is set (the items' cost centers are then
// the second result, index for index).
func usageItemsRef(sc Scope, level Level, priced []Priced, byCostCenter bool) ([]UsageItem, []CostCenterRef) {
	type key struct {
		bucket         int64
		sku, org, repo string
		cc             string // cost-center id
	}
	idx := make(map[key]int, len(priced)/2+1)
	items := make([]UsageItem, 0, len(priced)/2+1)
	var refs []CostCenterRef
	var buckets []int64 // by item, for sorting
	for i := range priced {
		r := &priced[i]
		k := key{bucket: r.Bucket.Unix(), sku: r.SKU, org: r.Organization, repo: r.Repository}
		if byCostCenter {
			k.cc = r.CostCenter.ID
		}
		j, ok := idx[k]
		if !ok {
			j = len(items)
			idx[k] = j
			date := r.Bucket.Format(time.DateOnly)
			if level == LevelHour {
				date = r.Bucket.Format(time.RFC3339)
			}
			it := UsageItem{Date: date, Product: ProductName(r.Product), SKU: r.SKU, UnitType: r.Unit,
				PricePerUnit: r.Price, RepositoryName: r.Repository}
			if sc.Account.Kind != KindUser {
				it.OrganizationName = &r.Organization
			}
			items = append(items, it)
			buckets = append(buckets, k.bucket)
			if byCostCenter {
				refs = append(refs, r.CostCenter)
			}
		}
		it := &items[j]
		it.Quantity += r.Quantity
		it.discountQuantity += r.DiscountQuantity
	}
	for i := range items {
		it := &items[i]
		it.GrossAmount = Mul(it.Quantity, it.PricePerUnit)
		it.DiscountAmount = Mul(it.discountQuantity, it.PricePerUnit)
		it.NetAmount = it.GrossAmount.Sub(it.DiscountAmount)
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	ref := func(i int) CostCenterRef {
		if refs == nil {
			return CostCenterRef{}
		}
		return refs[i]
	}
	slices.SortFunc(order, func(x, y int) int {
		a, b := &items[x], &items[y]
		return cmp.Or(cmp.Compare(buckets[x], buckets[y]), strings.Compare(a.Product, b.Product), strings.Compare(a.SKU, b.SKU),
			strings.Compare(deref(a.OrganizationName), deref(b.OrganizationName)), strings.Compare(a.RepositoryName, b.RepositoryName),
			strings.Compare(ref(x).Name, ref(y).Name), strings.Compare(ref(x).ID, ref(y).ID))
	})
	sorted := make([]UsageItem, len(items))
	var sortedRefs []CostCenterRef
	if refs != nil {
		sortedRefs = make([]CostCenterRef, len(items))
	}
	for i, j := range order {
		sorted[i] = items[j]
		if refs != nil {
			sortedRefs[i] = refs[j]
		}
	}
	return sorted, sortedRefs
}

func TestUsageItemsOrders(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	skus := []struct{ sku, product string }{{"actions_linux", "actions"}, {"actions_macos", "actions"}, {"copilot_premium_request", "copilot"},
		{"packages_storage", "packages"}, {"git_lfs_storage", "git_lfs"}, {"codespaces_storage", "codespaces"}}
	ccs := []CostCenterRef{{}, {ID: "b", Name: "Alpha"}, {ID: "a", Name: "Beta"}}
	var rows []Priced
	for range 5000 {
		k := skus[rng.IntN(len(skus))]
		org := []string{"o1", "o2", "o3"}[rng.IntN(3)]
		rows = append(rows, Priced{Row: Row{Bucket: start.AddDate(0, 0, rng.IntN(5)), SKU: k.sku, Organization: org,
			Repository: org + "/r" + string(rune('a'+rng.IntN(6))), Model: []string{"", "m1", "m2"}[rng.IntN(3)], Public: rng.IntN(2) == 0,
			Quantity: Quantity(rng.Int64N(1e12))}, Product: k.product, Unit: "minutes", Price: Price(rng.Int64N(9000)),
			DiscountQuantity: Quantity(rng.Int64N(1e9)), CostCenter: ccs[rng.IntN(len(ccs))]})
	}
	sortedRows := slices.Clone(rows)
	slices.SortStableFunc(sortedRows, func(a, b Priced) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), strings.Compare(a.SKU, b.SKU), strings.Compare(a.Organization, b.Organization),
			strings.Compare(a.Repository, b.Repository), strings.Compare(a.Model, b.Model))
	})
	byBucket := slices.Clone(rows)
	slices.SortStableFunc(byBucket, func(a, b Priced) int { return a.Bucket.Compare(b.Bucket) })
	for _, kind := range []AccountKind{KindEnterprise, KindUser} {
		sc := Scope{Account: Account{kind, "acme"}}
		for name, in := range map[string][]Priced{"shuffled": rows, "sorted": sortedRows, "by bucket": byBucket} {
			for _, byCC := range []bool{false, true} {
				for _, level := range []Level{LevelDay, LevelHour} {
					want, wantRefs := usageItemsRef(sc, level, slices.Clone(in), byCC)
					got, gotRefs := usageItems(sc, level, slices.Clone(in), byCC)
					if !bytes.Equal((UsageReport{want}).AppendJSON(nil), (UsageReport{got}).AppendJSON(nil)) || !slices.Equal(wantRefs, gotRefs) {
						t.Fatalf("%v %s byCostCenter=%v level=%v: items differ (%d vs %d)", kind, name, byCC, level, len(want), len(got))
					}
					for i := range want {
						if want[i].discountQuantity != got[i].discountQuantity {
							t.Fatalf("%v %s: item %d discount differs", kind, name, i)
						}
					}
				}
			}
		}
	}
}

func BenchmarkUsageItemsRef(b *testing.B) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var priced []Priced
	for i := 0; i < 63000; i++ {
		priced = append(priced, Priced{Row: Row{Bucket: start.AddDate(0, 0, i%31), SKU: "sku" + string(rune('a'+i%20)),
			Organization: "org" + string(rune('a'+i%3)), Repository: "org/repo" + string(rune('a'+i%600)), Quantity: Units(1)},
			Product: "actions", Unit: "minutes", Price: 8000})
	}
	sc := Scope{Account: Account{KindEnterprise, "acme"}}
	b.ResetTimer()
	for range b.N {
		usageItemsRef(sc, LevelDay, priced, false)
	}
}
