package postgres_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/blob/blobtest"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
)

func TestBlobConformance(t *testing.T) {
	db, err := postgres.Open(t.Context(), pgtest.DSN(t), postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobtest.Run(t, db.Blobs())
}

func TestSharedSecretIsOneAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	var got [][]byte
	for range 2 {
		db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		v, err := db.SharedSecret(t.Context(), "links", 32)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got[0]) != 32 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("replicas got different secrets: %x, %x", got[0], got[1])
	}
}

// TestBlobPutsStreamOnASmallPool streams more files at once than the pool
// has connections, through pipes, as the Copilot report builder does: a Put
// must not hold a connection while it waits for bytes.
func TestBlobPutsStreamOnASmallPool(t *testing.T) {
	db, err := postgres.Open(t.Context(), pgtest.DSN(t), postgres.Options{Migrate: true, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := db.Blobs()
	const files = 6
	writers := make([]*io.PipeWriter, files)
	done := make(chan error, files)
	for i := range files {
		pr, pw := io.Pipe()
		writers[i] = pw
		go func() {
			_, err := st.Put(t.Context(), fmt.Sprintf("t/pool/%d.ndjson", i), "application/x-ndjson", pr)
			done <- err
		}()
	}
	// Interleave writes to every file, each file bigger than a chunk.
	go func() {
		line := bytes.Repeat([]byte("x"), 64<<10)
		for range 20 {
			for _, w := range writers {
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		}
		for _, w := range writers {
			w.Close()
		}
	}()
	timeout := time.After(60 * time.Second)
	for range files {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			for _, w := range writers {
				w.CloseWithError(fmt.Errorf("test gave up"))
			}
			t.Fatal("concurrent streaming Puts deadlocked on the pool")
		}
	}
	f, err := st.Open(t.Context(), "t/pool/3.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Info().Size != 20*64<<10 {
		t.Fatalf("size %d", f.Info().Size)
	}
}
