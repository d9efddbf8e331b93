package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
)

var _ copilot.Store = (*DB)(nil)

func scopeType(s copilot.Scope) string {
	if s.Enterprise {
		return "e"
	}
	return "o"
}

// CopilotIngest upserts the records in one transaction.
func (db *DB) CopilotIngest(ctx context.Context, recs []copilot.StoredRecord) (copilot.IngestResult, error) {
	res := copilot.IngestResult{Received: len(recs)}
	seq := time.Now().UnixNano()
	err := db.write(ctx, func(tx *sql.Tx) error {
		res = copilot.IngestResult{Received: len(recs)}
		get, err := tx.PrepareContext(ctx, "SELECT line, extra FROM copilot_activity WHERE id = ?")
		if err != nil {
			return err
		}
		defer get.Close()
		put, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO copilot_activity
			(id, day, user_id, user_login, flags, line, extra, last_at, last_editor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer put.Close()
		dirty := map[copilot.Day]bool{}
		for _, r := range recs {
			var line, extra []byte
			err := get.QueryRowContext(ctx, activityID(r.Day, r.UserID)).Scan(&line, &extra)
			switch {
			case err == sql.ErrNoRows:
				res.Recorded++
			case err != nil:
				return err
			case bytes.Equal(line, r.Line) && bytes.Equal(extra, r.Extra):
				res.Unchanged++
				continue
			default:
				res.Replaced++
			}
			if _, err := put.ExecContext(ctx, activityID(r.Day, r.UserID), r.Day, r.UserID, r.UserLogin, r.Flags, string(r.Line), string(r.Extra), r.LastAt, r.LastEditor); err != nil {
				return err
			}
			dirty[r.Day] = true
		}
		for d := range dirty {
			if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO copilot_dirty (day, seq) VALUES (?, ?)", d, seq); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// activityID is a record's rowid: day << 34 | user_id, so that rowid
// order is (day, user) order.
func activityID(d copilot.Day, userID int64) int64 { return int64(d)<<34 | userID }

func splitIDs(s sql.NullString, dst []int64) []int64 {
	dst = dst[:0]
	if !s.Valid || s.String == "" {
		return dst
	}
	for _, f := range strings.Split(s.String, ",") {
		if n, err := strconv.ParseInt(f, 10, 64); err == nil {
			dst = append(dst, n)
		}
	}
	return dst
}

const membershipColumns = `(SELECT group_concat(org_id) FROM org_roles WHERE user_id = a.user_id),
	(SELECT group_concat(enterprise_id) FROM enterprise_roles WHERE user_id = a.user_id),
	(SELECT group_concat(team_id) FROM team_members WHERE user_id = a.user_id)`

// CopilotScan streams records of [from, to] by day and user.
func (db *DB) CopilotScan(ctx context.Context, from, to copilot.Day, payload bool, fn func(*copilot.ScanRow) error) error {
	cols := "'', ''"
	if payload {
		cols = "a.line, a.extra"
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT a.day, a.user_id, a.user_login, `+cols+`, `+membershipColumns+`
		FROM copilot_activity a WHERE a.id >= ? AND a.id < ? ORDER BY a.id`, activityID(from, 0), activityID(to+1, 0))
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		r             copilot.ScanRow
		orgs, ents, t sql.NullString
		line, extra   sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&r.Day, &r.UserID, &r.UserLogin, &line, &extra, &orgs, &ents, &t); err != nil {
			return err
		}
		r.Line, r.Extra = nil, nil
		if payload {
			r.Line, r.Extra = line, extra
		}
		r.Orgs, r.Enterprises, r.Teams = splitIDs(orgs, r.Orgs), splitIDs(ents, r.Enterprises), splitIDs(t, r.Teams)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// flagLastColumns selects the last day of each activity flag.
func flagLastColumns() string {
	var b strings.Builder
	for i := 0; i < 9; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("COALESCE(MAX(CASE WHEN a.flags & " + strconv.Itoa(1<<i) + " != 0 THEN a.day END), 0)")
	}
	return b.String()
}

// CopilotActiveUsers streams per user the last day of each kind of activity.
func (db *DB) CopilotActiveUsers(ctx context.Context, from, to copilot.Day, fn func(*copilot.ActiveUser) error) error {
	rows, err := db.reader.QueryContext(ctx, `SELECT u.*, (SELECT group_concat(org_id) FROM org_roles WHERE user_id = u.uid),
		(SELECT group_concat(enterprise_id) FROM enterprise_roles WHERE user_id = u.uid)
		FROM (SELECT a.id & `+strconv.FormatInt(copilot.MaxUserID, 10)+` AS uid, `+flagLastColumns()+`
			FROM copilot_activity a INDEXED BY copilot_activity_day_flags
			WHERE a.day >= ? AND a.day <= ? GROUP BY uid) u ORDER BY u.uid`, from, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		u          copilot.ActiveUser
		orgs, ents sql.NullString
	)
	dest := []any{&u.UserID}
	for i := range u.Last {
		dest = append(dest, &u.Last[i])
	}
	dest = append(dest, &orgs, &ents)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		u.Orgs, u.Enterprises = splitIDs(orgs, u.Orgs), splitIDs(ents, u.Enterprises)
		if err := fn(&u); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (db *DB) CopilotDirtyDays(ctx context.Context) ([]copilot.DirtyDay, error) {
	return list(ctx, db.reader, func(row interface{ Scan(...any) error }) (copilot.DirtyDay, error) {
		var d copilot.DirtyDay
		return d, row.Scan(&d.Day, &d.Seq)
	}, "SELECT day, seq FROM copilot_dirty ORDER BY day")
}

func (db *DB) CopilotClearDirty(ctx context.Context, days []copilot.DirtyDay) error {
	if len(days) == 0 {
		return nil
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		for _, d := range days {
			if _, err := tx.ExecContext(ctx, "DELETE FROM copilot_dirty WHERE day = ? AND seq = ?", d.Day, d.Seq); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) CopilotState(ctx context.Context, key string) (int64, bool, error) {
	var v int64
	err := db.reader.QueryRowContext(ctx, "SELECT value FROM copilot_state WHERE key = ?", key).Scan(&v)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	return v, err == nil, err
}

func (db *DB) CopilotSetState(ctx context.Context, key string, v int64) error {
	_, err := db.writer.ExecContext(ctx, "INSERT OR REPLACE INTO copilot_state (key, value) VALUES (?, ?)", key, v)
	return err
}

func (db *DB) CopilotPutReport(ctx context.Context, r *copilot.Report, garbageAfter time.Time) error {
	files, err := json.Marshal(r.Files)
	if err != nil {
		return err
	}
	st := scopeType(r.Scope)
	return db.write(ctx, func(tx *sql.Tx) error {
		var old []byte
		err := tx.QueryRowContext(ctx, "SELECT files FROM copilot_reports WHERE scope_type = ? AND scope_id = ? AND kind = ? AND day = ?",
			st, r.Scope.ID, r.Kind, r.Day).Scan(&old)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if err := addGarbage(ctx, tx, old, r.Files, garbageAfter); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO copilot_reports (scope_type, scope_id, kind, day, files, rows, body, built_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, st, r.Scope.ID, r.Kind, r.Day, string(files), r.Rows, r.Body, unixNano(r.BuiltAt))
		return err
	})
}

// addGarbage records the files of old (a JSON array) not in keep as due at due.
func addGarbage(ctx context.Context, tx *sql.Tx, old []byte, keep []string, due time.Time) error {
	if len(old) == 0 {
		return nil
	}
	var names []string
	if err := json.Unmarshal(old, &names); err != nil {
		return err
	}
	for _, n := range names {
		if contains(keep, n) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO copilot_garbage (name, due) VALUES (?, ?)", n, due.UnixNano()); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func scanReport(row interface{ Scan(...any) error }) (*copilot.Report, error) {
	r := &copilot.Report{}
	var st, files string
	var built int64
	if err := row.Scan(&st, &r.Scope.ID, &r.Kind, &r.Day, &files, &r.Rows, &r.Body, &built); err != nil {
		return nil, storeError(err, "Report")
	}
	r.Scope.Enterprise = st == "e"
	r.BuiltAt = fromNano(built)
	if err := json.Unmarshal([]byte(files), &r.Files); err != nil {
		return nil, err
	}
	return r, nil
}

const copilotReportColumns = "scope_type, scope_id, kind, day, files, rows, body, built_at"

func (db *DB) CopilotReport(ctx context.Context, s copilot.Scope, kind string, day copilot.Day) (*copilot.Report, error) {
	return scanReport(db.reader.QueryRowContext(ctx, "SELECT "+copilotReportColumns+" FROM copilot_reports WHERE scope_type = ? AND scope_id = ? AND kind = ? AND day = ?",
		scopeType(s), s.ID, kind, day))
}

func (db *DB) CopilotLatestReport(ctx context.Context, s copilot.Scope, kind string) (*copilot.Report, error) {
	return scanReport(db.reader.QueryRowContext(ctx, "SELECT "+copilotReportColumns+" FROM copilot_reports WHERE scope_type = ? AND scope_id = ? AND kind = ? ORDER BY day DESC LIMIT 1",
		scopeType(s), s.ID, kind))
}

func (db *DB) CopilotReports(ctx context.Context, s copilot.Scope, kind string, from, to copilot.Day) ([]*copilot.Report, error) {
	return list(ctx, db.reader, scanReport, "SELECT "+copilotReportColumns+" FROM copilot_reports WHERE scope_type = ? AND scope_id = ? AND kind = ? AND day BETWEEN ? AND ? ORDER BY day",
		scopeType(s), s.ID, kind, from, to)
}

func (db *DB) CopilotGarbage(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return list(ctx, db.reader, func(row interface{ Scan(...any) error }) (string, error) {
		var s string
		return s, row.Scan(&s)
	}, "SELECT name FROM copilot_garbage WHERE due <= ? ORDER BY name LIMIT ?", now.UnixNano(), limit)
}

func (db *DB) CopilotDropGarbage(ctx context.Context, names []string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		for _, n := range names {
			if _, err := tx.ExecContext(ctx, "DELETE FROM copilot_garbage WHERE name = ?", n); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) CopilotPrune(ctx context.Context, before copilot.Day, now time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT files FROM copilot_reports WHERE day < ?", before)
		if err != nil {
			return err
		}
		var old [][]byte
		for rows.Next() {
			var f []byte
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return err
			}
			old = append(old, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, f := range old {
			if err := addGarbage(ctx, tx, f, nil, now); err != nil {
				return err
			}
		}
		for _, q := range []string{"DELETE FROM copilot_reports WHERE day < ?", "DELETE FROM copilot_activity WHERE day < ?", "DELETE FROM copilot_dirty WHERE day < ?"} {
			res, err := tx.ExecContext(ctx, q, before)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	return n, err
}

func (db *DB) CopilotSetPolicy(ctx context.Context, s copilot.Scope, value string) error {
	_, err := db.writer.ExecContext(ctx, "INSERT OR REPLACE INTO copilot_policies (scope_type, scope_id, value) VALUES (?, ?, ?)", scopeType(s), s.ID, value)
	return err
}

func (db *DB) CopilotPolicy(ctx context.Context, s copilot.Scope) (string, error) {
	var v string
	err := db.reader.QueryRowContext(ctx, "SELECT value FROM copilot_policies WHERE scope_type = ? AND scope_id = ?", scopeType(s), s.ID).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}

func (db *DB) CopilotAddSeats(ctx context.Context, seats []copilot.Seat) (int, error) {
	n := 0
	err := db.write(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, s := range seats {
			var pending int64
			err := tx.QueryRowContext(ctx, "SELECT pending_cancellation FROM copilot_seats WHERE enterprise_id = ? AND org_id = ? AND user_id = ?",
				s.EnterpriseID, s.OrgID, s.UserID).Scan(&pending)
			switch {
			case err == sql.ErrNoRows:
				_, err = tx.ExecContext(ctx, `INSERT INTO copilot_seats (enterprise_id, org_id, user_id, assigning_team_id, created_at, updated_at, pending_cancellation, plan_type)
					VALUES (?, ?, ?, ?, ?, ?, 0, ?)`, s.EnterpriseID, s.OrgID, s.UserID, s.AssigningTeamID, unixNano(s.CreatedAt), unixNano(s.UpdatedAt), s.PlanType)
			case err != nil:
				return err
			case pending == 0:
				continue
			default:
				_, err = tx.ExecContext(ctx, `UPDATE copilot_seats SET pending_cancellation = 0, assigning_team_id = ?, updated_at = ?
					WHERE enterprise_id = ? AND org_id = ? AND user_id = ?`, s.AssigningTeamID, unixNano(s.UpdatedAt), s.EnterpriseID, s.OrgID, s.UserID)
			}
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func (db *DB) CopilotCancelSeats(ctx context.Context, enterpriseID, orgID int64, userIDs []int64, teamID int64, on copilot.Day) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, u := range userIDs {
			res, err := tx.ExecContext(ctx, `UPDATE copilot_seats SET pending_cancellation = ?, updated_at = ?
				WHERE enterprise_id = ? AND org_id = ? AND user_id = ? AND assigning_team_id = ? AND pending_cancellation = 0`,
				on, time.Now().UnixNano(), enterpriseID, orgID, u, teamID)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	return int(n), err
}

func (db *DB) CopilotSeats(ctx context.Context, enterpriseID, orgID int64, day copilot.Day) ([]copilot.Seat, error) {
	q := "SELECT enterprise_id, org_id, user_id, assigning_team_id, created_at, updated_at, pending_cancellation, plan_type FROM copilot_seats WHERE enterprise_id = ? AND "
	args := []any{enterpriseID}
	if orgID != 0 {
		q += "org_id = ? AND "
		args = append(args, orgID)
	}
	q += "(pending_cancellation = 0 OR pending_cancellation > ?) ORDER BY user_id, org_id"
	args = append(args, day)
	return list(ctx, db.reader, func(row interface{ Scan(...any) error }) (copilot.Seat, error) {
		var s copilot.Seat
		var created, updated int64
		err := row.Scan(&s.EnterpriseID, &s.OrgID, &s.UserID, &s.AssigningTeamID, &created, &updated, &s.PendingCancellation, &s.PlanType)
		s.CreatedAt, s.UpdatedAt = fromNano(created), fromNano(updated)
		return s, err
	}, q, args...)
}

func (db *DB) CopilotLastActivity(ctx context.Context, userIDs []int64) (map[int64]copilot.LastActivity, error) {
	out := map[int64]copilot.LastActivity{}
	for _, u := range userIDs {
		var at int64
		var editor string
		err := db.reader.QueryRowContext(ctx, "SELECT last_at, last_editor FROM copilot_activity WHERE user_id = ? ORDER BY day DESC LIMIT 1", u).Scan(&at, &editor)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[u] = copilot.LastActivity{At: time.Unix(at, 0).UTC(), Editor: editor}
	}
	return out, nil
}

func (db *DB) CopilotTeamMembers(ctx context.Context, teamID int64) ([]int64, error) {
	return list(ctx, db.reader, func(row interface{ Scan(...any) error }) (int64, error) {
		var id int64
		return id, row.Scan(&id)
	}, "SELECT user_id FROM team_members WHERE team_id = ? ORDER BY user_id", teamID)
}
