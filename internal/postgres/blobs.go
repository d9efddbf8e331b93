package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/usage"
)

// blobChunkSize is how many bytes of a file one blob_chunks row holds; a
// reader holds one chunk in memory at a time.
const blobChunkSize = 1 << 20

// Blobs returns the blob.Store kept in this database, so every replica
// serves every file.
func (db *DB) Blobs() blob.Store { return &pgBlobs{db: db} }

type pgBlobs struct {
	db *DB
	// commit ends Put's transaction, committing it or not; nil means
	// tx.Commit. Tests set one that loses the outcome of the COMMIT (see
	// export_test.go).
	commit func(ctx context.Context, tx pgx.Tx) error
}

var _ blob.Store = (*pgBlobs)(nil)

// Put implements blob.Store. It holds a connection only for one chunk's
// INSERT at a time, never while it waits for r: a caller streaming several
// files at once (through pipes) cannot exhaust the pool and deadlock.
//
// When the final COMMIT reports an error although the server committed
// (ctx cancelled during it, the connection lost after it), the file is
// stored and Put returns its size and no error; when abandon cannot tell,
// Put returns the error and deletes nothing.
func (b *pgBlobs) Put(ctx context.Context, name, contentType string, r io.Reader) (int64, error) {
	if !blob.ValidName(name) {
		return 0, usage.Errorf(usage.KindBadRequest, "invalid file name %q", name)
	}
	pool := b.db.pool
	var gen int64
	if err := pool.QueryRow(ctx, "INSERT INTO blob_uploads (generation, started_at) VALUES (nextval('blob_generations'), $1) RETURNING generation",
		b.db.now().UTC()).Scan(&gen); err != nil {
		return 0, wrap(err, "blob put")
	}
	var size int64
	abandon := func(err error) (int64, error) {
		if b.abandon(ctx, name, gen) {
			return size, nil // the COMMIT whose outcome was lost took effect
		}
		return 0, err
	}
	buf := make([]byte, blobChunkSize)
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := pool.Exec(ctx, "INSERT INTO blob_chunks (generation, seq, data) VALUES ($1, $2, $3)", gen, seq, buf[:n]); err != nil {
				return abandon(wrap(err, "blob put"))
			}
			size += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return abandon(fmt.Errorf("blob put %s: %w", name, err))
		}
	}
	if err := b.link(ctx, name, contentType, gen, size); err != nil {
		return abandon(wrap(err, "blob put"))
	}
	return size, nil
}

// abandon deletes the chunks and upload row of a Put of name whose
// generation gen failed, unless gen is the file's live generation, which
// happens when the COMMIT of link reported an error although the server
// committed; it reports whether gen is live. It reads the file's row under
// the name's advisory lock, which link's transaction holds until the
// server has ended it, so link's outcome is settled by then; and on a
// context of its own, so it runs when ctx is cancelled. When it cannot
// tell (it fails or times out), it deletes nothing and reports false: a
// generation that was not committed keeps its upload row, and is pruned
// with it a day later by another Put; one that was has none, and is kept.
func (b *pgBlobs) abandon(ctx context.Context, name string, gen int64) (live bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := pgx.BeginFunc(ctx, b.db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('blob:' || $1))", name); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM blob_files WHERE name = $1 AND generation = $2)", name, gen).Scan(&live)
		if err != nil || live {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM blob_chunks WHERE generation = $1", gen); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM blob_uploads WHERE generation = $1", gen)
		return err
	})
	return err == nil && live
}

// link makes gen, whose chunks (size bytes) are stored, the file called
// name and deletes the chunks of the generation it replaces, in one
// transaction ended by b.commit.
func (b *pgBlobs) link(ctx context.Context, name, contentType string, gen, size int64) error {
	tx, err := b.db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := b.linkTx(ctx, tx, name, contentType, gen, size); err != nil {
		tx.Rollback(ctx)
		return err
	}
	if b.commit != nil {
		return b.commit(ctx, tx)
	}
	return tx.Commit(ctx)
}

// linkTx is link's statements, in tx.
func (b *pgBlobs) linkTx(ctx context.Context, tx pgx.Tx, name, contentType string, gen, size int64) error {
	// Puts of one name take turns, so each sees the generation it replaces
	// (a new name has no row to lock).
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('blob:' || $1))", name); err != nil {
		return err
	}
	var old *int64
	err := tx.QueryRow(ctx, "SELECT generation FROM blob_files WHERE name = $1", name).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	now := b.db.now().UTC()
	if _, err := tx.Exec(ctx, `INSERT INTO blob_files (name, generation, content_type, size, chunk_size, modified_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (name) DO UPDATE SET generation = EXCLUDED.generation, content_type = EXCLUDED.content_type,
			size = EXCLUDED.size, chunk_size = EXCLUDED.chunk_size, modified_at = EXCLUDED.modified_at`,
		name, gen, contentType, size, blobChunkSize, now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM blob_uploads WHERE generation = $1", gen); err != nil {
		return err
	}
	if old != nil {
		if _, err := tx.Exec(ctx, "DELETE FROM blob_chunks WHERE generation = $1", *old); err != nil {
			return err
		}
	}
	// Uploads a crash left unfinished a day ago will never finish.
	_, err = tx.Exec(ctx, `WITH stale AS (DELETE FROM blob_uploads WHERE started_at < $1 RETURNING generation)
		DELETE FROM blob_chunks WHERE generation IN (SELECT generation FROM stale)`, now.Add(-24*time.Hour))
	return err
}

func (b *pgBlobs) Open(ctx context.Context, name string) (blob.File, error) {
	if !blob.ValidName(name) {
		return nil, usage.ErrNotFound
	}
	f := &pgFile{ctx: ctx, db: b.db}
	f.info.Name = name
	var mod time.Time
	err := b.db.pool.QueryRow(ctx, "SELECT generation, content_type, size, chunk_size, modified_at FROM blob_files WHERE name = $1", name).
		Scan(&f.gen, &f.info.ContentType, &f.info.Size, &f.chunkSize, &mod)
	if err != nil {
		return nil, wrap(err, "blob open")
	}
	f.info.ModTime = mod.UTC()
	return f, nil
}

func (b *pgBlobs) Delete(ctx context.Context, name string) error {
	if !blob.ValidName(name) {
		return usage.Errorf(usage.KindBadRequest, "invalid file name %q", name)
	}
	return wrap(pgx.BeginFunc(ctx, b.db.pool, func(tx pgx.Tx) error {
		var gen int64
		err := tx.QueryRow(ctx, "DELETE FROM blob_files WHERE name = $1 RETURNING generation", name).Scan(&gen)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM blob_chunks WHERE generation = $1", gen)
		return err
	}), "blob delete")
}

func (b *pgBlobs) List(ctx context.Context, prefix string) ([]string, error) {
	// A range on the primary key rather than LIKE, so no pattern escaping.
	rows, err := b.db.pool.Query(ctx, "SELECT name FROM blob_files WHERE name >= $1 ORDER BY name COLLATE \"C\"", prefix)
	if err != nil {
		return nil, wrap(err, "blob list")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap(err, "blob list")
	}
	out := names[:0]
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// pgFile reads a file one chunk at a time.
type pgFile struct {
	ctx       context.Context
	db        *DB
	info      blob.Info
	gen       int64
	chunkSize int
	pos       int64
	chunk     []byte
	chunkSeq  int // seq of chunk, -1 when none is loaded
	loaded    bool
}

func (f *pgFile) Info() blob.Info { return f.info }
func (f *pgFile) Close() error    { f.chunk = nil; return nil }

func (f *pgFile) Read(p []byte) (int, error) {
	if f.pos >= f.info.Size {
		return 0, io.EOF
	}
	seq := int(f.pos / int64(f.chunkSize))
	if !f.loaded || f.chunkSeq != seq {
		var data []byte
		err := f.db.pool.QueryRow(f.ctx, "SELECT data FROM blob_chunks WHERE generation = $1 AND seq = $2", f.gen, seq).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("postgres: blob %s was replaced or deleted while being read", f.info.Name)
		}
		if err != nil {
			return 0, wrap(err, "blob read")
		}
		f.chunk, f.chunkSeq, f.loaded = data, seq, true
	}
	off := int(f.pos - int64(seq)*int64(f.chunkSize))
	if off >= len(f.chunk) {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, f.chunk[off:])
	f.pos += int64(n)
	return n, nil
}

func (f *pgFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.info.Size
	default:
		return 0, errors.New("postgres: blob seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("postgres: blob seek: negative position")
	}
	f.pos = offset
	return offset, nil
}

// SharedSecret returns the secret called name, generating size random
// bytes the first time any replica asks, so all replicas share it.
func (db *DB) SharedSecret(ctx context.Context, name string, size int) ([]byte, error) {
	v := make([]byte, size)
	rand.Read(v)
	if _, err := db.pool.Exec(ctx, "INSERT INTO shared_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, v); err != nil {
		return nil, wrap(err, "shared secret")
	}
	var got []byte
	if err := db.pool.QueryRow(ctx, "SELECT value FROM shared_secrets WHERE name = $1", name).Scan(&got); err != nil {
		return nil, wrap(err, "shared secret")
	}
	return got, nil
}
