package server

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/usage"
)

// Copilot state keys of the billing derivation: StateCopilotBilling is 1
// while the server derives (written at start, read by `ghusage ingest
// billing-usage` into the local store), stateBillingThrough the newest
// closed day whose seats and activity were derived.
const (
	StateCopilotBilling = "billing-ledger"
	stateBillingThrough = "billing-through"
	// stateBillingRescan is 1 after the flag was switched on: the next run
	// re-derives the premium requests of every kept day.
	stateBillingRescan = "billing-rescan"
)

// copilotLedger derives the billing ledger's Copilot licences and premium
// requests from the Copilot seats and activity; the report job calls it
// (copilot.Builder.Ledger), so it runs once across replicas.
//
// Licences: for each closed day, each user holding a live seat of an
// account (an enterprise, or an organization outside any) gets one record
// of the day's share of a user-month (the shares of a month's days sum to
// exactly 1), id copilot-seat:{account}:{user id}:{day}, so re-runs dedup.
// Premium requests: per user, model and day, the ingested requests; a
// day corrected upwards adds a record of the difference, whose id names
// the new total. The ledger never loses a record, so a lower correction
// leaves the higher total (and is logged).
type copilotLedger struct {
	cs            copilot.Store
	accounts      usage.AccountStore
	billing       *billing.Service
	retentionDays int
	now           func() time.Time
	logger        *slog.Logger
}

// ledgerDirectory holds the logins records name, read once per run.
type ledgerDirectory struct {
	ents  map[int64]string // enterprise id → slug (lower case)
	orgs  map[int64]string // organization id → login (lower case)
	users map[int64]string // user id → login (lower case)
}

func (l *copilotLedger) directory(ctx context.Context) (*ledgerDirectory, error) {
	d := &ledgerDirectory{ents: map[int64]string{}, orgs: map[int64]string{}, users: map[int64]string{}}
	ents, err := l.accounts.ListEnterprises(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		d.ents[e.ID] = strings.ToLower(e.Slug)
	}
	orgs, err := l.accounts.ListOrganizations(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		d.orgs[o.ID] = strings.ToLower(o.Login)
	}
	users, err := l.accounts.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		d.users[u.ID] = strings.ToLower(u.Login)
	}
	return d, nil
}

// CopilotClosed implements copilot.Ledger: it derives the seats of every
// day closed since the last run, and the premium requests of those days
// and of the changed ones. The first run starts at the oldest activity or
// seat within the retention.
func (l *copilotLedger) CopilotClosed(ctx context.Context, changed []copilot.Day, closed copilot.Day) error {
	dir, err := l.directory(ctx)
	if err != nil {
		return err
	}
	v, ok, err := l.cs.CopilotState(ctx, stateBillingThrough)
	if err != nil {
		return err
	}
	through := copilot.Day(v)
	if !ok {
		first, err := l.firstDay(ctx, dir, closed)
		if err != nil {
			return err
		}
		through = first - 1
	}
	days := map[copilot.Day]bool{}
	for _, d := range changed {
		if d <= closed {
			days[d] = true
		}
	}
	rescan, _, err := l.cs.CopilotState(ctx, stateBillingRescan)
	if err != nil {
		return err
	}
	if rescan == 1 && ok {
		first, err := l.firstDay(ctx, dir, closed)
		if err != nil {
			return err
		}
		for d := first; d <= through; d++ {
			days[d] = true // premium requests only: their derivation is idempotent
		}
	}
	for d := through + 1; d <= closed; d++ {
		days[d] = true
	}
	var nSeats, nPremium int
	for _, d := range slices.Sorted(maps.Keys(days)) {
		seats, err := l.seatsOn(ctx, dir, d)
		if err != nil {
			return err
		}
		var recs []billing.Record
		if d > through { // a newly closed day: its licences, from the seats as they are now
			recs = l.licences(dir, d, seats)
			nSeats += len(recs)
		}
		prem, err := l.premium(ctx, dir, d, seats)
		if err != nil {
			return err
		}
		nPremium += len(prem)
		if err := l.ingest(ctx, append(recs, prem...)); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	if closed > through || !ok {
		if err := l.cs.CopilotSetState(ctx, stateBillingThrough, int64(max(closed, through))); err != nil {
			return err
		}
	}
	if rescan == 1 {
		if err := l.cs.CopilotSetState(ctx, stateBillingRescan, 0); err != nil {
			return err
		}
	}
	if nSeats+nPremium > 0 {
		l.logger.Info("copilot usage derived into the billing ledger", "days", len(days), "licence_records", nSeats, "premium_request_records", nPremium)
	}
	return nil
}

var errStop = errors.New("stop")

// firstDay is the oldest day with activity or a seat, within the
// retention; closed+1 when there is neither.
func (l *copilotLedger) firstDay(ctx context.Context, dir *ledgerDirectory, closed copilot.Day) (copilot.Day, error) {
	floor := copilot.Day(0)
	if l.retentionDays > 0 {
		floor = copilot.DayOf(l.now()) - copilot.Day(l.retentionDays)
	}
	first := closed + 1
	err := l.cs.CopilotScan(ctx, floor, closed, false, func(r *copilot.ScanRow) error {
		first = min(first, r.Day)
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, err
	}
	for _, e := range append(slices.Collect(maps.Keys(dir.ents)), 0) {
		seats, err := l.cs.CopilotSeats(ctx, e, 0, floor)
		if err != nil {
			return 0, err
		}
		for _, s := range seats {
			first = min(first, copilot.DayOf(s.CreatedAt))
		}
	}
	return max(first, floor), nil
}

// seatsOn returns the seats live on day d (created on or before it, not
// ended), by user, oldest first.
func (l *copilotLedger) seatsOn(ctx context.Context, dir *ledgerDirectory, d copilot.Day) (map[int64][]copilot.Seat, error) {
	out := map[int64][]copilot.Seat{}
	for _, e := range append(slices.Sorted(maps.Keys(dir.ents)), 0) {
		seats, err := l.cs.CopilotSeats(ctx, e, 0, d)
		if err != nil {
			return nil, err
		}
		for _, s := range seats {
			if copilot.DayOf(s.CreatedAt) <= d {
				out[s.UserID] = append(out[s.UserID], s)
			}
		}
	}
	for _, ss := range out {
		slices.SortFunc(ss, func(a, b copilot.Seat) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.EnterpriseID, b.EnterpriseID), cmp.Compare(a.OrgID, b.OrgID))
		})
	}
	return out, nil
}

// seatRecord fills in who a seat bills: its enterprise, else its
// organization, and the user.
func (dir *ledgerDirectory) seatRecord(s copilot.Seat) billing.Record {
	r := billing.Record{Product: "copilot", Username: dir.users[s.UserID]}
	if s.EnterpriseID != 0 {
		r.Enterprise = dir.ents[s.EnterpriseID]
	}
	if s.OrgID != 0 {
		r.Organization = dir.orgs[s.OrgID]
	}
	return r
}

// SeatDayShare is day d's share of a user-month: the shares of a month's
// days are exact billionths that sum to exactly one user-month.
func SeatDayShare(d copilot.Day) billing.Quantity {
	t := d.Time()
	n := int64(time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day())
	dom, one := int64(t.Day()), int64(billing.Units(1))
	return billing.Quantity(one*dom/n - one*(dom-1)/n)
}

// licences are day d's licence records: one per account and user holding
// a seat of it (several seats in one enterprise's organizations are one
// licence, named after the oldest seat's organization).
func (l *copilotLedger) licences(dir *ledgerDirectory, d copilot.Day, seats map[int64][]copilot.Seat) []billing.Record {
	var out []billing.Record
	share := SeatDayShare(d)
	for _, uid := range slices.Sorted(maps.Keys(seats)) {
		seen := map[billing.Account]bool{}
		for _, s := range seats[uid] {
			r := dir.seatRecord(s)
			if r.Username == "" || (s.EnterpriseID != 0 && r.Enterprise == "") || (s.EnterpriseID == 0 && r.Organization == "") {
				continue // an account deleted since
			}
			a := billing.AccountOf(&r)
			if seen[a] {
				continue
			}
			seen[a] = true
			r.SKU = billing.SKUCopilotBusiness
			if s.PlanType == "enterprise" {
				r.SKU = billing.SKUCopilotEnterprise
			}
			r.ID = fmt.Sprintf("copilot-seat:%s:%d:%s", a.Key(), uid, d)
			r.Timestamp, r.Unit, r.Quantity = d.Time(), billing.UnitUserMonths, share
			out = append(out, r)
		}
	}
	return out
}

type premiumKey struct{ user, model string }

// premium are day d's premium-request records: per user and model, what
// the ingested total exceeds the ledger's. A user's requests bill the
// account of the user's oldest live seat (and name its organization), or
// the user's own account without a seat (as GitHub bills Copilot Pro).
func (l *copilotLedger) premium(ctx context.Context, dir *ledgerDirectory, d copilot.Day, seats map[int64][]copilot.Seat) ([]billing.Record, error) {
	type entry struct {
		rec   billing.Record // who pays, the user and model
		uid   int64
		total billing.Quantity
	}
	var entries []entry
	var x struct {
		P []copilot.ModelPremiumRequests `json:"premium_requests_by_model"`
	}
	marker := []byte(`"premium_requests_by_model"`)
	err := l.cs.CopilotScan(ctx, d, d, true, func(r *copilot.ScanRow) error {
		if !bytes.Contains(r.Extra, marker) {
			return nil
		}
		x.P = x.P[:0]
		if err := json.Unmarshal(r.Extra, &x); err != nil {
			return fmt.Errorf("stored activity of user %d on %s: %w", r.UserID, d, err)
		}
		base := billing.Record{Product: "copilot", Username: strings.ToLower(r.UserLogin)}
		if ss := seats[r.UserID]; len(ss) > 0 {
			if sr := dir.seatRecord(ss[0]); sr.Enterprise != "" || sr.Organization != "" {
				base.Enterprise, base.Organization = sr.Enterprise, sr.Organization
			}
		}
		for _, p := range x.P {
			q, err := billing.ParseDecimal(string(p.Requests))
			if err != nil {
				return fmt.Errorf("stored premium requests of user %d on %s: %s %w", r.UserID, d, p.Requests, err)
			}
			if q > 0 {
				rec := base
				rec.Model = p.Model
				entries = append(entries, entry{rec: rec, uid: r.UserID, total: billing.Quantity(q)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// What the ledger holds already, per account.
	have := map[billing.Account]map[premiumKey]billing.Quantity{}
	for _, e := range entries {
		a := billing.AccountOf(&e.rec)
		if _, ok := have[a]; ok {
			continue
		}
		rows, err := l.billing.Store.BillingRows(ctx, billing.Query{Account: a, Level: billing.LevelDay,
			From: d.Time(), To: (d + 1).Time(), SKU: billing.SKUCopilotPremium})
		if err != nil {
			return nil, err
		}
		m := map[premiumKey]billing.Quantity{}
		for _, r := range rows {
			m[premiumKey{r.Username, r.Model}] += r.Quantity
		}
		have[a] = m
	}
	var out []billing.Record
	for _, e := range entries {
		a := billing.AccountOf(&e.rec)
		held := have[a][premiumKey{e.rec.Username, e.rec.Model}]
		switch {
		case e.total == held:
			continue
		case e.total < held:
			l.logger.Warn("copilot premium requests corrected downwards; the billing ledger keeps the higher total (records are never removed)",
				"user", e.rec.Username, "day", d.String(), "model", e.rec.Model, "ledger", held.String(), "ingested", e.total.String())
			continue
		}
		r := e.rec
		r.SKU, r.Unit, r.Timestamp, r.Quantity = billing.SKUCopilotPremium, billing.UnitRequests, d.Time(), e.total-held
		r.ID = premiumID(a, e.uid, d, r.Model, e.total)
		out = append(out, r)
	}
	return out, nil
}

// premiumID names a premium-request record by account, user, day, model
// and the total it brings the ledger to: deriving the same total again
// gives the same id (a duplicate), a higher one a new record of the
// difference. A model too long for the id is named by its hash.
func premiumID(a billing.Account, uid int64, d copilot.Day, model string, total billing.Quantity) string {
	id := fmt.Sprintf("copilot-premium:%s:%d:%s:%s:%s", a.Key(), uid, d, model, total)
	if len(id) > billing.MaxIDLength {
		h := sha256.Sum256([]byte(model))
		id = fmt.Sprintf("copilot-premium:%s:%d:%s:#%s:%s", a.Key(), uid, d, hex.EncodeToString(h[:8]), total)
	}
	return id
}

// ingest validates and records derived records in batches.
func (l *copilotLedger) ingest(ctx context.Context, recs []billing.Record) error {
	now := l.now()
	for i := range recs {
		recs[i].Normalize()
		if fe := recs[i].Validate(l.billing.Catalog, now); fe != nil {
			return fmt.Errorf("derived record %s: %v", recs[i].ID, fe)
		}
	}
	for len(recs) > 0 {
		k := min(len(recs), billing.MaxBatch)
		if _, err := l.billing.Ingest(ctx, recs[:k]); err != nil {
			return err
		}
		recs = recs[k:]
	}
	return nil
}

// CopilotLedger returns the billing derivation a report build outside the
// server (`ghusage copilot build`) must run, so it does not clear days the
// ledger has not seen: the derivation when the store's server runs with
// --copilot-billing, nil otherwise.
func CopilotLedger(ctx context.Context, cfg Config, st usage.Store, logger *slog.Logger) (copilot.Ledger, error) {
	cs, ok := st.(copilot.Store)
	if !ok {
		return nil, nil
	}
	on, _, err := cs.CopilotState(ctx, StateCopilotBilling)
	if err != nil || on != 1 {
		return nil, err
	}
	bs, err := newBilling(cfg, st, nil)
	if err != nil || bs == nil {
		return nil, err
	}
	return &copilotLedger{cs: cs, accounts: st, billing: bs, retentionDays: cfg.Copilot.RetentionDays, now: time.Now, logger: logger}, nil
}
