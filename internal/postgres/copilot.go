package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/copilot"
)

var _ copilot.Store = (*DB)(nil)

func scopeType(s copilot.Scope) string {
	if s.Enterprise {
		return "e"
	}
	return "o"
}

// CopilotIngest upserts the records in one transaction: one statement
// whose conflict clause leaves identical lines alone, so a re-send is
// counted as unchanged and marks nothing dirty. A changed day's mark gets
// the store's clock as seq, and at least its stored seq plus one: the
// mark of a change moves even when the clocks of two replicas (or one
// stepped back) give the same time, so CopilotClearDirty with the seq a
// builder read never clears a mark set after that read.
func (db *DB) CopilotIngest(ctx context.Context, recs []copilot.StoredRecord) (copilot.IngestResult, error) {
	res := copilot.IngestResult{Received: len(recs)}
	// A batch holds one line per key (the last one wins), as one statement
	// may not update a row twice.
	last := make(map[[2]int64]int, len(recs))
	for i, r := range recs {
		last[[2]int64{int64(r.Day), r.UserID}] = i
	}
	n := len(last)
	days, flags := make([]int32, 0, n), make([]int32, 0, n)
	users, lastAt := make([]int64, 0, n), make([]int64, 0, n)
	logins, lines, extras, editors := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	for i, r := range recs {
		if last[[2]int64{int64(r.Day), r.UserID}] != i {
			res.Unchanged++ // superseded within the batch
			continue
		}
		days, users, logins, flags = append(days, int32(r.Day)), append(users, r.UserID), append(logins, r.UserLogin), append(flags, int32(r.Flags))
		lines, extras, lastAt, editors = append(lines, string(r.Line)), append(extras, string(r.Extra)), append(lastAt, r.LastAt), append(editors, r.LastEditor)
	}
	seq := db.now().UnixNano()
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO copilot_activity AS a (day, user_id, user_login, flags, line, extra, last_at, last_editor)
			SELECT * FROM unnest($1::integer[], $2::bigint[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::bigint[], $8::text[])
			ON CONFLICT (day, user_id) DO UPDATE SET user_login = EXCLUDED.user_login, flags = EXCLUDED.flags, line = EXCLUDED.line,
				extra = EXCLUDED.extra, last_at = EXCLUDED.last_at, last_editor = EXCLUDED.last_editor
			WHERE a.line <> EXCLUDED.line OR a.extra <> EXCLUDED.extra
			RETURNING day, (xmax = 0)`, days, users, logins, flags, lines, extras, lastAt, editors)
		if err != nil {
			return err
		}
		dirty := map[int32]bool{}
		changed := 0
		for rows.Next() {
			var d int32
			var inserted bool
			if err := rows.Scan(&d, &inserted); err != nil {
				rows.Close()
				return err
			}
			dirty[d] = true
			changed++
			if inserted {
				res.Recorded++
			} else {
				res.Replaced++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		res.Unchanged += len(days) - changed
		if len(dirty) == 0 {
			return nil
		}
		var dd []int32
		for d := range dirty {
			dd = append(dd, d)
		}
		_, err = tx.Exec(ctx, `INSERT INTO copilot_dirty (day, seq) SELECT unnest($1::integer[]), $2
			ON CONFLICT (day) DO UPDATE SET seq = GREATEST(copilot_dirty.seq + 1, EXCLUDED.seq)`, dd, seq)
		return err
	})
	if err != nil {
		return copilot.IngestResult{}, wrap(err, "copilot ingest")
	}
	return res, nil
}

const pgMembershipColumns = `(SELECT array_agg(org_id) FROM org_members WHERE user_id = a.user_id),
	(SELECT array_agg(enterprise_id) FROM enterprise_members WHERE user_id = a.user_id),
	(SELECT array_agg(team_id) FROM team_members WHERE user_id = a.user_id)`

// CopilotScan streams the records of [from, to] by day and user.
func (db *DB) CopilotScan(ctx context.Context, from, to copilot.Day, payload bool, fn func(*copilot.ScanRow) error) error {
	cols := "''::text, ''::text"
	if payload {
		cols = "a.line, a.extra"
	}
	rows, err := db.pool.Query(ctx, `SELECT a.day, a.user_id, a.user_login, `+cols+`, `+pgMembershipColumns+`
		FROM copilot_activity a WHERE a.day BETWEEN $1 AND $2 ORDER BY a.day, a.user_id`, int32(from), int32(to))
	if err != nil {
		return wrap(err, "copilot scan")
	}
	defer rows.Close()
	var (
		r           copilot.ScanRow
		day         int32
		line, extra []byte
	)
	for rows.Next() {
		r.Orgs, r.Enterprises, r.Teams = r.Orgs[:0], r.Enterprises[:0], r.Teams[:0]
		if err := rows.Scan(&day, &r.UserID, &r.UserLogin, &line, &extra, &r.Orgs, &r.Enterprises, &r.Teams); err != nil {
			return wrap(err, "copilot scan")
		}
		r.Day = copilot.Day(day)
		r.Line, r.Extra = nil, nil
		if payload {
			r.Line, r.Extra = line, extra
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return wrap(rows.Err(), "copilot scan")
}

// CopilotActiveUsers streams per user the last day of each kind of activity.
func (db *DB) CopilotActiveUsers(ctx context.Context, from, to copilot.Day, fn func(*copilot.ActiveUser) error) error {
	var cols strings.Builder
	for i := 0; i < 9; i++ {
		cols.WriteString(", COALESCE(MAX(CASE WHEN a.flags & " + strconv.Itoa(1<<i) + " <> 0 THEN a.day END), 0)")
	}
	rows, err := db.pool.Query(ctx, `SELECT u.*, (SELECT array_agg(org_id) FROM org_members WHERE user_id = u.uid),
		(SELECT array_agg(enterprise_id) FROM enterprise_members WHERE user_id = u.uid)
		FROM (SELECT a.user_id AS uid`+cols.String()+` FROM copilot_activity a
			WHERE a.day BETWEEN $1 AND $2 GROUP BY a.user_id) u ORDER BY u.uid`, int32(from), int32(to))
	if err != nil {
		return wrap(err, "copilot active users")
	}
	defer rows.Close()
	var (
		u    copilot.ActiveUser
		last [9]int32
	)
	dest := []any{&u.UserID}
	for i := range last {
		dest = append(dest, &last[i])
	}
	dest = append(dest, &u.Orgs, &u.Enterprises)
	for rows.Next() {
		u.Orgs, u.Enterprises = u.Orgs[:0], u.Enterprises[:0]
		if err := rows.Scan(dest...); err != nil {
			return wrap(err, "copilot active users")
		}
		for i, d := range last {
			u.Last[i] = copilot.Day(d)
		}
		if err := fn(&u); err != nil {
			return err
		}
	}
	return wrap(rows.Err(), "copilot active users")
}

func (db *DB) CopilotDirtyDays(ctx context.Context) ([]copilot.DirtyDay, error) {
	rows, err := db.pool.Query(ctx, "SELECT day, seq FROM copilot_dirty ORDER BY day")
	if err != nil {
		return nil, wrap(err, "copilot dirty days")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (copilot.DirtyDay, error) {
		var d int32
		var dd copilot.DirtyDay
		err := row.Scan(&d, &dd.Seq)
		dd.Day = copilot.Day(d)
		return dd, err
	})
	return out, wrap(err, "copilot dirty days")
}

func (db *DB) CopilotClearDirty(ctx context.Context, days []copilot.DirtyDay) error {
	if len(days) == 0 {
		return nil
	}
	dd, seqs := make([]int32, len(days)), make([]int64, len(days))
	for i, d := range days {
		dd[i], seqs[i] = int32(d.Day), d.Seq
	}
	_, err := db.pool.Exec(ctx, `DELETE FROM copilot_dirty c USING unnest($1::integer[], $2::bigint[]) AS t(day, seq)
		WHERE c.day = t.day AND c.seq = t.seq`, dd, seqs)
	return wrap(err, "copilot clear dirty")
}

func (db *DB) CopilotState(ctx context.Context, key string) (int64, bool, error) {
	var v int64
	err := db.pool.QueryRow(ctx, "SELECT value FROM copilot_state WHERE key = $1", key).Scan(&v)
	if err == pgx.ErrNoRows {
		return 0, false, nil
	}
	return v, err == nil, wrap(err, "copilot state")
}

func (db *DB) CopilotSetState(ctx context.Context, key string, v int64) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO copilot_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, v)
	return wrap(err, "copilot set state")
}

// CopilotPutReport records r as its scope, kind and day's report and
// makes the files of the report it replaces garbage due at garbageAfter.
// The replaced report is read locked (SELECT ... FOR UPDATE), so a put
// another replica commits meanwhile (a CLI build beside the job) is the
// one replaced, and its files the ones retired; a report neither finds is
// inserted with ON CONFLICT DO NOTHING, and the one inserting second, its
// insert having waited for the first's commit, locks and replaces it.
func (db *DB) CopilotPutReport(ctx context.Context, r *copilot.Report, garbageAfter time.Time) error {
	st := scopeType(r.Scope)
	files := r.Files
	if files == nil {
		files = []string{}
	}
	key := []any{st, r.Scope.ID, r.Kind, int32(r.Day)}
	vals := append(key, files, r.Rows, r.Body, r.BuiltAt.UTC())
	err := db.inTx(ctx, "copilot put report", func(tx pgx.Tx) error {
		for range 10 {
			var old []string
			err := tx.QueryRow(ctx, `SELECT files FROM copilot_reports WHERE scope_type = $1 AND scope_id = $2 AND kind = $3 AND day = $4 FOR UPDATE`,
				key...).Scan(&old)
			if errors.Is(err, pgx.ErrNoRows) {
				tag, err := tx.Exec(ctx, `INSERT INTO copilot_reports (scope_type, scope_id, kind, day, files, rows, body, built_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (scope_type, scope_id, kind, day) DO NOTHING`, vals...)
				if err != nil || tag.RowsAffected() == 1 {
					return err
				}
				continue // another replica's put committed it first: replace that one
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO copilot_garbage (name, due)
				SELECT DISTINCT f, $3::timestamptz FROM unnest($1::text[]) AS f WHERE NOT f = ANY($2::text[])
				ON CONFLICT (name) DO UPDATE SET due = EXCLUDED.due`, old, files, garbageAfter.UTC()); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE copilot_reports SET files = $5, rows = $6, body = $7, built_at = $8
				WHERE scope_type = $1 AND scope_id = $2 AND kind = $3 AND day = $4`, vals...)
			return err
		}
		return errors.New("copilot report inserted and deleted by others at every attempt")
	})
	return wrap(err, "copilot put report")
}

const pgReportColumns = "scope_type, scope_id, kind, day, files, rows, body, built_at"

func scanPGReport(row pgx.Row) (*copilot.Report, error) {
	r := &copilot.Report{}
	var st string
	var day int32
	if err := row.Scan(&st, &r.Scope.ID, &r.Kind, &day, &r.Files, &r.Rows, &r.Body, &r.BuiltAt); err != nil {
		return nil, err
	}
	r.Scope.Enterprise, r.Day, r.BuiltAt = st == "e", copilot.Day(day), r.BuiltAt.UTC()
	return r, nil
}

func (db *DB) CopilotReport(ctx context.Context, s copilot.Scope, kind string, day copilot.Day) (*copilot.Report, error) {
	r, err := scanPGReport(db.pool.QueryRow(ctx, "SELECT "+pgReportColumns+" FROM copilot_reports WHERE scope_type = $1 AND scope_id = $2 AND kind = $3 AND day = $4",
		scopeType(s), s.ID, kind, int32(day)))
	return r, wrap(err, "copilot report")
}

func (db *DB) CopilotLatestReport(ctx context.Context, s copilot.Scope, kind string) (*copilot.Report, error) {
	r, err := scanPGReport(db.pool.QueryRow(ctx, "SELECT "+pgReportColumns+" FROM copilot_reports WHERE scope_type = $1 AND scope_id = $2 AND kind = $3 ORDER BY day DESC LIMIT 1",
		scopeType(s), s.ID, kind))
	return r, wrap(err, "copilot latest report")
}

func (db *DB) CopilotReports(ctx context.Context, s copilot.Scope, kind string, from, to copilot.Day) ([]*copilot.Report, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+pgReportColumns+" FROM copilot_reports WHERE scope_type = $1 AND scope_id = $2 AND kind = $3 AND day BETWEEN $4 AND $5 ORDER BY day",
		scopeType(s), s.ID, kind, int32(from), int32(to))
	if err != nil {
		return nil, wrap(err, "copilot reports")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*copilot.Report, error) { return scanPGReport(row) })
	return out, wrap(err, "copilot reports")
}

func (db *DB) CopilotGarbage(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT name FROM copilot_garbage WHERE due <= $1 ORDER BY name LIMIT $2", now.UTC(), limit)
	if err != nil {
		return nil, wrap(err, "copilot garbage")
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, wrap(err, "copilot garbage")
}

func (db *DB) CopilotDropGarbage(ctx context.Context, names []string) error {
	_, err := db.pool.Exec(ctx, "DELETE FROM copilot_garbage WHERE name = ANY($1::text[])", names)
	return wrap(err, "copilot drop garbage")
}

// CopilotPrune deletes activity, reports and dirty marks of days before
// before; the files of the reports deleted (as the DELETE returns them, so
// those of a put another replica committed meanwhile) become garbage due
// at now.
func (db *DB) CopilotPrune(ctx context.Context, before copilot.Day, now time.Time) (int64, error) {
	var n int64
	err := db.inTx(ctx, "copilot prune", func(tx pgx.Tx) error {
		n = 0
		if err := tx.QueryRow(ctx, `WITH gone AS (DELETE FROM copilot_reports WHERE day < $1 RETURNING files),
			retired AS (INSERT INTO copilot_garbage (name, due) SELECT DISTINCT f, $2::timestamptz FROM gone, unnest(gone.files) AS f
				ON CONFLICT (name) DO UPDATE SET due = EXCLUDED.due)
			SELECT count(*) FROM gone`, int32(before), now.UTC()).Scan(&n); err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM copilot_activity WHERE day < $1", "DELETE FROM copilot_dirty WHERE day < $1"} {
			tag, err := tx.Exec(ctx, q, int32(before))
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	return n, wrap(err, "copilot prune")
}

func (db *DB) CopilotSetPolicy(ctx context.Context, s copilot.Scope, value string) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO copilot_policies (scope_type, scope_id, value) VALUES ($1, $2, $3)
		ON CONFLICT (scope_type, scope_id) DO UPDATE SET value = EXCLUDED.value`, scopeType(s), s.ID, value)
	return wrap(err, "copilot set policy")
}

func (db *DB) CopilotPolicy(ctx context.Context, s copilot.Scope) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, "SELECT value FROM copilot_policies WHERE scope_type = $1 AND scope_id = $2", scopeType(s), s.ID).Scan(&v)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	return v, wrap(err, "copilot policy")
}

// CopilotAddSeats creates the seats not held, and revives those pending
// cancellation, in one transaction, in key order (enterprise, organization,
// user): replicas adding the same seats in other orders wait for each
// other rather than deadlock. It returns how many it created or revived.
func (db *DB) CopilotAddSeats(ctx context.Context, seats []copilot.Seat) (int, error) {
	seats = slices.Clone(seats)
	slices.SortStableFunc(seats, func(a, b copilot.Seat) int {
		return cmp.Or(cmp.Compare(a.EnterpriseID, b.EnterpriseID), cmp.Compare(a.OrgID, b.OrgID), cmp.Compare(a.UserID, b.UserID))
	})
	n := 0
	err := db.inTx(ctx, "copilot add seats", func(tx pgx.Tx) error {
		n = 0
		for _, s := range seats {
			tag, err := tx.Exec(ctx, `INSERT INTO copilot_seats AS c (enterprise_id, org_id, user_id, assigning_team_id, created_at, updated_at, pending_cancellation, plan_type)
				VALUES ($1, $2, $3, $4, $5, $6, 0, $7)
				ON CONFLICT (enterprise_id, org_id, user_id) DO UPDATE SET pending_cancellation = 0, assigning_team_id = EXCLUDED.assigning_team_id,
					updated_at = EXCLUDED.updated_at WHERE c.pending_cancellation <> 0`,
				s.EnterpriseID, s.OrgID, s.UserID, s.AssigningTeamID, s.CreatedAt.UTC(), s.UpdatedAt.UTC(), s.PlanType)
			if err != nil {
				return err
			}
			n += int(tag.RowsAffected())
		}
		return nil
	})
	return n, err
}

func (db *DB) CopilotCancelSeats(ctx context.Context, enterpriseID, orgID int64, userIDs []int64, teamID int64, on copilot.Day) (int, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE copilot_seats SET pending_cancellation = $1, updated_at = now()
		WHERE enterprise_id = $2 AND org_id = $3 AND user_id = ANY($4::bigint[]) AND assigning_team_id = $5 AND pending_cancellation = 0`,
		int32(on), enterpriseID, orgID, userIDs, teamID)
	if err != nil {
		return 0, wrap(err, "copilot cancel seats")
	}
	return int(tag.RowsAffected()), nil
}

func (db *DB) CopilotSeats(ctx context.Context, enterpriseID, orgID int64, day copilot.Day) ([]copilot.Seat, error) {
	rows, err := db.pool.Query(ctx, `SELECT enterprise_id, org_id, user_id, assigning_team_id, created_at, updated_at, pending_cancellation, plan_type
		FROM copilot_seats WHERE enterprise_id = $1 AND ($2 = 0 OR org_id = $2) AND (pending_cancellation = 0 OR pending_cancellation > $3)
		ORDER BY user_id, org_id`, enterpriseID, orgID, int32(day))
	if err != nil {
		return nil, wrap(err, "copilot seats")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (copilot.Seat, error) {
		var s copilot.Seat
		var pending int32
		err := row.Scan(&s.EnterpriseID, &s.OrgID, &s.UserID, &s.AssigningTeamID, &s.CreatedAt, &s.UpdatedAt, &pending, &s.PlanType)
		s.PendingCancellation, s.CreatedAt, s.UpdatedAt = copilot.Day(pending), s.CreatedAt.UTC(), s.UpdatedAt.UTC()
		return s, err
	})
	return out, wrap(err, "copilot seats")
}

func (db *DB) CopilotLastActivity(ctx context.Context, userIDs []int64) (map[int64]copilot.LastActivity, error) {
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT ON (user_id) user_id, last_at, last_editor FROM copilot_activity
		WHERE user_id = ANY($1::bigint[]) ORDER BY user_id, day DESC`, userIDs)
	if err != nil {
		return nil, wrap(err, "copilot last activity")
	}
	defer rows.Close()
	out := map[int64]copilot.LastActivity{}
	for rows.Next() {
		var id, at int64
		var editor string
		if err := rows.Scan(&id, &at, &editor); err != nil {
			return nil, wrap(err, "copilot last activity")
		}
		out[id] = copilot.LastActivity{At: time.Unix(at, 0).UTC(), Editor: editor}
	}
	return out, wrap(rows.Err(), "copilot last activity")
}

func (db *DB) CopilotTeamMembers(ctx context.Context, teamID int64) ([]int64, error) {
	rows, err := db.pool.Query(ctx, "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id", teamID)
	if err != nil {
		return nil, wrap(err, "copilot team members")
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return out, wrap(err, "copilot team members")
}
