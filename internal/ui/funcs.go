package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"net/url"
	"slices"
	"time"
)

// assetVersions are short content hashes of the embedded static files,
// appended to their URLs so a browser never keeps a stale copy.
var assetVersions = func() map[string]string {
	m := map[string]string{}
	entries, _ := staticFiles.ReadDir("static")
	for _, e := range entries {
		b, _ := staticFiles.ReadFile("static/" + e.Name())
		sum := sha256.Sum256(b)
		m[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return m
}()

var funcs = template.FuncMap{
	"usd": usd,
	// swatch is the palette index of a color, for the legend's CSS class
	// (no inline style under the Content-Security-Policy).
	"swatch": func(color string) int { return max(0, slices.Index(palette, color)) },
	"asset":  func(name string) string { return "/ui/static/" + name + "?v=" + assetVersions[name] },
	"num":    grouped,
	"int64":  func(n int) int64 { return int64(n) },
	// readable shows a URL with its query unescaped (the link keeps it escaped).
	"readable": func(u string) string {
		if s, err := url.QueryUnescape(u); err == nil {
			return s
		}
		return u
	},
	"compact": compact,
	// when shows an RFC 3339 time in UTC inside <time>; static/ui.js
	// rewrites it to local time when the page is in the local zone.
	"when": func(rfc string) template.HTML {
		if rfc == "" {
			return `<span class="muted">never</span>`
		}
		t, err := time.Parse(time.RFC3339, rfc)
		if err != nil {
			return template.HTML(template.HTMLEscapeString(rfc))
		}
		t = t.UTC()
		return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `">` + t.Format("2006-01-02 15:04:05") + ` UTC</time>`)
	},
	"percent": func(part, whole int64) string {
		if whole <= 0 {
			return "0%"
		}
		p := float64(part) * 100 / float64(whole)
		switch {
		case p == 0:
			return "0%"
		case p < 0.1:
			return "<0.1%"
		}
		return trimZero(p) + "%"
	},
}
