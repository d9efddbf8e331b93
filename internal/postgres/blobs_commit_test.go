package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
)

// TestBlobPutLostCommit has Put's COMMIT report an error after the server
// committed (the context cancelled during COMMIT, the connection dropped
// after it): the new file is stored whole and Put says so, and no chunk is
// left behind. When the COMMIT is lost before the server has it, Put fails
// and the file it would have replaced is intact.
func TestBlobPutLostCommit(t *testing.T) {
	content := func(c byte) []byte { return bytes.Repeat([]byte{c}, 1<<20+1000) } // two chunks

	// The server committed: the file is the new one, whole, whether it
	// replaced one or not, and when Put's context ends just after.
	for _, tc := range []struct {
		name             string
		replace, cancels bool
	}{{"CommittedNewName", false, false}, {"CommittedReplacement", true, false}, {"CommittedThenCancelled", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			db, st, check, _ := lostCommitStore(t)
			if tc.replace {
				if _, err := st.Put(t.Context(), "lost/f.csv", "text/csv", bytes.NewReader(content('a'))); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			after := func() {}
			if tc.cancels {
				after = cancel
			}
			body := content('b')
			n, err := postgres.BlobsLosingCommits(db, true, after).Put(ctx, "lost/f.csv", "text/csv", bytes.NewReader(body))
			if got := readBlob(t, st, "lost/f.csv"); !bytes.Equal(got, body) {
				t.Fatalf("read %d bytes, not the %d put", len(got), len(body))
			}
			if err != nil || n != int64(len(body)) {
				t.Fatalf("Put = %d, %v; want %d, nil (the server committed)", n, err, len(body))
			}
			check(t)
		})
	}

	// The server commits only once Put, told the COMMIT failed, waits for
	// the name's lock to settle what it stored.
	t.Run("CommittedLate", func(t *testing.T) {
		db, st, check, dsn := lostCommitStore(t)
		name := "lost/late-" + rand.Text() + ".csv"
		if _, err := st.Put(t.Context(), name, "text/csv", bytes.NewReader(content('h'))); err != nil {
			t.Fatal(err)
		}
		poll, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer poll.Close(context.Background())
		putDone := make(chan struct{})
		late, committed := postgres.BlobsCommittingLate(db, func() {
			// Until another session waits for the name's lock, or Put has
			// returned without waiting.
			for {
				var waiting bool
				if err := poll.QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM pg_locks
					WHERE locktype = 'advisory' AND NOT granted
						AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
						AND objid::bigint = hashtext('blob:' || $1)::bigint & 4294967295)`, name).Scan(&waiting); err != nil || waiting {
					return
				}
				select {
				case <-putDone:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		})
		body := content('i')
		n, err := late.Put(t.Context(), name, "text/csv", bytes.NewReader(body))
		close(putDone)
		if cerr := <-committed; cerr != nil {
			t.Fatalf("the late COMMIT: %v", cerr)
		}
		if got := readBlob(t, st, name); !bytes.Equal(got, body) {
			t.Fatalf("read %d bytes, not the replacement", len(got))
		}
		if err != nil || n != int64(len(body)) {
			t.Fatalf("Put = %d, %v; want %d, nil (the server committed)", n, err, len(body))
		}
		check(t)
	})

	t.Run("RolledBackReplacement", func(t *testing.T) {
		db, st, check, _ := lostCommitStore(t)
		old := content('d')
		if _, err := st.Put(t.Context(), "lost/kept.csv", "text/csv", bytes.NewReader(old)); err != nil {
			t.Fatal(err)
		}
		_, err := postgres.BlobsLosingCommits(db, false, nil).Put(t.Context(), "lost/kept.csv", "text/csv", bytes.NewReader(content('e')))
		if got := readBlob(t, st, "lost/kept.csv"); !bytes.Equal(got, old) {
			t.Fatalf("read %d bytes, not the file Put failed to replace", len(got))
		}
		if !errors.Is(err, postgres.ErrLostCommit) {
			t.Fatalf("Put = %v; want ErrLostCommit (nothing was committed)", err)
		}
		check(t)
	})
}

// lostCommitStore opens a database on a fresh schema and returns it, its
// blob store, a check that every chunk belongs to a stored file, every
// file has all its chunks, and no upload is left, and the schema's DSN.
func lostCommitStore(t *testing.T) (*postgres.DB, blob.Store, func(*testing.T), string) {
	dsn := pgtest.DSN(t)
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	check := func(t *testing.T) {
		t.Helper()
		var orphans, missing, uploads int
		if err := conn.QueryRow(t.Context(), `SELECT
			(SELECT count(*) FROM blob_chunks c WHERE NOT EXISTS (SELECT FROM blob_files f WHERE f.generation = c.generation)),
			(SELECT coalesce(sum((size + chunk_size - 1) / chunk_size), 0) FROM blob_files)
				- (SELECT count(*) FROM blob_chunks c WHERE EXISTS (SELECT FROM blob_files f WHERE f.generation = c.generation)),
			(SELECT count(*) FROM blob_uploads)`).Scan(&orphans, &missing, &uploads); err != nil {
			t.Fatal(err)
		}
		if orphans != 0 || missing != 0 || uploads != 0 {
			t.Fatalf("%d orphaned chunks, %d missing, %d uploads left", orphans, missing, uploads)
		}
	}
	return db, db.Blobs(), check, dsn
}

func readBlob(t *testing.T, st blob.Store, name string) []byte {
	t.Helper()
	f, err := st.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return got
}
