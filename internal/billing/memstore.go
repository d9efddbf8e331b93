package billing

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// MemStore is an in-memory Store: the reference the storage conformance
// suite compares backends with, and a store for tests. It keeps records
// and derives rows on query, the simplest correct reading of the Store
// contract.
type MemStore struct {
	mu      sync.Mutex
	ids     map[string]bool
	recs    []Record
	commits map[[3]string]Committer
	accts   map[[3]string]Account
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{ids: map[string]bool{}, commits: map[[3]string]Committer{}, accts: map[[3]string]Account{}}
}

var _ Store = (*MemStore)(nil)

// BillingIngest implements Store.
func (m *MemStore) BillingIngest(_ context.Context, recs []Record) (IngestResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res := IngestResult{Received: len(recs)}
	for _, r := range recs {
		if m.ids[r.ID] {
			res.Duplicates++
			continue
		}
		m.ids[r.ID] = true
		m.recs = append(m.recs, r)
		res.Recorded++
	}
	return res, nil
}

// Matches reports whether record r is selected by q's account, range and
// filters (at q's level, r's bucket is what counts).
func (q *Query) Matches(r *Record) bool {
	k := RowOf(r, q.Level)
	return AccountOf(r) == q.Account && !k.Bucket.Before(q.From) && k.Bucket.Before(q.To) && q.matches(r.Product, &k)
}

// matches applies q's filters to a row of a product (or to a record's
// own fields: a Row built from them).
func (q *Query) matches(product string, k *Row) bool {
	return (q.Organization == "" || q.Organization == k.Organization) &&
		(q.Repository == "" || q.Repository == k.Repository) &&
		(q.Username == "" || q.Username == k.Username) &&
		(q.Product == "" || q.Product == product) &&
		(len(q.SKUs) == 0 || slices.Contains(q.SKUs, k.SKU)) &&
		(q.SKU == "" || q.SKU == k.SKU) &&
		(q.Model == "" || strings.EqualFold(q.Model, k.Model))
}

// Bucket is the start of the hour or UTC day holding t.
func Bucket(t time.Time, l Level) time.Time {
	t = t.UTC()
	if l == LevelHour {
		return t.Truncate(time.Hour)
	}
	return DateOf(t).Time()
}

// RowOf is the row key a record adds to at level l (Quantity is the
// record's). Rows keep the user and model only for per-user SKUs
// (PerUser): Actions minutes, storage and transfer are summed over users,
// so a month has one row per day, SKU, organization and repository
// whatever the number of jobs.
func RowOf(r *Record, l Level) Row {
	k := Row{Bucket: Bucket(r.Timestamp, l), SKU: r.SKU, Organization: r.Organization, Repository: r.Repository,
		Public: r.Public, Quantity: r.Quantity}
	if PerUser(r.Unit) {
		k.Username, k.Model = r.Username, r.Model
	}
	return k
}

// PerUser reports whether usage of a unit is kept per user (and model)
// in stored rows: premium requests, AI credits and licenses, whose
// reports filter and attribute by user.
func PerUser(unit string) bool {
	return unit == UnitRequests || unit == UnitCredits || unit == UnitUserMonths
}

// BillingRows implements Store.
func (m *MemStore) BillingRows(_ context.Context, q Query) ([]Row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sums := map[Row]Quantity{}
	for i := range m.recs {
		r := &m.recs[i]
		if q.Matches(r) {
			k := RowOf(r, q.Level)
			if PackLevel(&q) == LevelItems {
				k.Username = ""
			}
			k.Quantity = 0
			sums[k] += r.Quantity
		}
	}
	out := make([]Row, 0, len(sums))
	for k, v := range sums {
		k.Quantity = v
		out = append(out, k)
	}
	return out, nil
}

// BillingDayTotals implements Store.
func (m *MemStore) BillingDayTotals(_ context.Context, a Account, from, to time.Time) ([]DayTotal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sums := map[DayTotal]Quantity{}
	for i := range m.recs {
		r := &m.recs[i]
		day := DateOf(r.Timestamp).Time()
		if AccountOf(r) != a || day.Before(from) || !day.Before(to) {
			continue
		}
		sums[DayTotal{Day: day, SKU: r.SKU, Public: r.Public}] += r.Quantity
	}
	out := make([]DayTotal, 0, len(sums))
	for k, v := range sums {
		k.Quantity = v
		out = append(out, k)
	}
	return out, nil
}

// BillingRecords implements Store.
func (m *MemStore) BillingRecords(ctx context.Context, q Query, fn func(*Record) error) error {
	m.mu.Lock()
	var sel []Record
	for i := range m.recs {
		r := m.recs[i]
		k := Row{SKU: r.SKU, Organization: r.Organization, Repository: r.Repository, Username: r.Username, Model: r.Model}
		if AccountOf(&r) == q.Account && !r.Timestamp.Before(q.From) && r.Timestamp.Before(q.To) && q.matches(r.Product, &k) {
			sel = append(sel, r)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(sel, func(a, b Record) int { return cmp.Or(a.Timestamp.Compare(b.Timestamp), strings.Compare(a.ID, b.ID)) })
	for i := range sel {
		if err := fn(&sel[i]); err != nil {
			return err
		}
	}
	return nil
}

// BillingRecordPushes implements Store: per account, repository and
// login, the latest push wins (and its email and author date).
func (m *MemStore) BillingRecordPushes(_ context.Context, pushes []Push) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range pushes {
		k := [3]string{p.Account.Key(), p.Repository, p.Login}
		old, ok := m.commits[k]
		if ok && !PushNewer(p, old) {
			continue
		}
		m.commits[k] = Committer{Organization: p.Organization, Repository: p.Repository, Login: p.Login,
			Email: p.Email, AuthorDate: p.AuthorDate.UTC(), PushedAt: p.PushedAt.UTC()}
		m.accts[k] = p.Account
	}
	return nil
}

// PushNewer reports whether p replaces the stored committer c: a later
// push, or at the same push time a later author date.
func PushNewer(p Push, c Committer) bool {
	if !p.PushedAt.Equal(c.PushedAt) {
		return p.PushedAt.After(c.PushedAt)
	}
	return p.AuthorDate.After(c.AuthorDate)
}

// BillingCommitters implements Store.
func (m *MemStore) BillingCommitters(_ context.Context, a Account, org string, since time.Time) ([]Committer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Committer
	for k, c := range m.commits {
		if m.accts[k] == a && (org == "" || c.Organization == org) && !c.PushedAt.Before(since) {
			out = append(out, c)
		}
	}
	return out, nil
}

// memReports is MemReports' state.
type memReports struct {
	mu   sync.Mutex
	list []ReportExport
}

// MemReports is an in-memory ReportStore.
type MemReports struct{ r memReports }

// BillingCreateReport implements ReportStore.
func (m *MemReports) BillingCreateReport(_ context.Context, r *ReportExport) error {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	m.r.list = append(m.r.list, *r)
	return nil
}

// BillingReports implements ReportStore.
func (m *MemReports) BillingReports(_ context.Context, enterprise string) ([]ReportExport, error) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	var out []ReportExport
	for _, r := range m.r.list {
		if r.Enterprise == enterprise {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b ReportExport) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// BillingReport implements ReportStore.
func (m *MemReports) BillingReport(_ context.Context, enterprise, id string) (*ReportExport, error) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	for _, r := range m.r.list {
		if r.Enterprise == enterprise && r.ID == id {
			return &r, nil
		}
	}
	return nil, usage.ErrNotFound
}

// BillingPendingReports implements ReportStore.
func (m *MemReports) BillingPendingReports(_ context.Context, limit int) ([]ReportExport, error) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	var out []ReportExport
	for _, r := range m.r.list {
		if r.Status == ReportProcessing && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

// BillingFinishReport implements ReportStore.
func (m *MemReports) BillingFinishReport(_ context.Context, id, status string, files []string, errMsg string) error {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	for i := range m.r.list {
		if m.r.list[i].ID == id {
			m.r.list[i].Status, m.r.list[i].Files, m.r.list[i].Error = status, files, errMsg
			return nil
		}
	}
	return usage.ErrNotFound
}
