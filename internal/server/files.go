package server

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/usage"
)

// linkSecretName names the download-link signing key in the store.
const linkSecretName = "download-links"

// secretKeeper is implemented by stores that keep shared secrets
// (sqlite.DB and postgres.DB).
type secretKeeper interface {
	SharedSecret(ctx context.Context, name string, size int) ([]byte, error)
}

// FilesDir is the embedded store's directory of downloadable files.
func FilesDir(cfg Config) string { return filepath.Join(cfg.DataDir, "files") }

// newFiles opens where downloadable files live (a directory beside the
// SQLite file, or PostgreSQL's blob tables, so any replica serves any file)
// and the signer of their links. The signing key is cfg.LinkSecret when
// set; otherwise one generated once and kept in the store, which every
// replica of a PostgreSQL deployment therefore shares.
func newFiles(cfg Config, st usage.Store, now func() time.Time) (blob.Store, *blob.Signer, error) {
	var files blob.Store
	if pg, ok := st.(*postgres.DB); ok {
		files = pg.Blobs()
	} else {
		d, err := blob.NewDir(FilesDir(cfg))
		if err != nil {
			return nil, nil, err
		}
		files = d
	}
	secret := []byte(cfg.LinkSecret)
	if len(secret) == 0 {
		sk, ok := st.(secretKeeper)
		if !ok {
			return nil, nil, fmt.Errorf("the %s store keeps no secrets: set --link-secret", cfg.Store)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if secret, err = sk.SharedSecret(ctx, linkSecretName, 32); err != nil {
			return nil, nil, fmt.Errorf("download-link secret: %w", err)
		}
	}
	// Until Listen knows the address, links are built on a placeholder;
	// Listen replaces it when --public-url is not set.
	public := cfg.PublicURL
	if public == "" {
		public = "http://" + cfg.Addr
	}
	signer, err := blob.NewSigner(public, secret, now)
	if err != nil {
		return nil, nil, fmt.Errorf("--public-url / --link-secret: %w", err)
	}
	signer.TTL = cfg.LinkTTL
	return files, signer, nil
}
