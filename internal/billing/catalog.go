package billing

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Unit types, one spelling for every surface (usage, summary, CSV).
const (
	UnitMinutes       = "minutes"
	UnitGigabyteHours = "GigabyteHours"
	UnitGigabytes     = "gigabytes"
	UnitRequests      = "requests"
	UnitCredits       = "credits"
	UnitUserMonths    = "user-months"
	UnitHours         = "hours"
)

// Product ids (lower case, as GitHub's budgets and CSV exports use them)
// and the names the usage endpoints answer with.
var productNames = map[string]string{
	"actions":    "Actions",
	"packages":   "Packages",
	"git_lfs":    "Git LFS",
	"codespaces": "Codespaces",
	"copilot":    "Copilot",
	"ghas":       "GitHub Advanced Security",
	"ghec":       "GitHub Enterprise",
	"models":     "GitHub Models",
	"spark":      "Spark",
}

// ProductName is the display name of a product id ("actions" → "Actions").
func ProductName(id string) string {
	if n, ok := productNames[id]; ok {
		return n
	}
	return id
}

// ProductID resolves a product filter, case-insensitively, by id or by
// display name ("Actions", "actions"); ok is false for an unknown product.
func ProductID(s string) (string, bool) {
	for id, name := range productNames {
		if strings.EqualFold(s, id) || strings.EqualFold(s, name) {
			return id, true
		}
	}
	return "", false
}

// Included-usage pools: what a plan's included quota is counted in.
const (
	PoolActionsMinutes   = "actions_minutes"   // weighted minutes (Linux 1, Windows 2, macOS 10)
	PoolStorage          = "storage"           // GB, shared by Actions artifacts and Packages, counted in GB-hours
	PoolPackagesTransfer = "packages_transfer" // GB of packages data transfer
	PoolLFSStorage       = "lfs_storage"       // GB of Git LFS storage, counted in GB-hours
	PoolLFSBandwidth     = "lfs_bandwidth"     // GB of Git LFS bandwidth
)

// hourlyPools are included in GB but consumed in gigabyte-hours: the plan's
// GB times the hours of the month.
var hourlyPools = map[string]bool{PoolStorage: true, PoolLFSStorage: true}

// PricePoint is a price that applies from a UTC day on (until the next point).
type PricePoint struct {
	From  Date  `json:"from"`
	Price Price `json:"price"`
}

// SKU is one billable unit of a product, with its effective-dated prices.
type SKU struct {
	ID      string       `json:"-"`
	Product string       `json:"product"`
	Unit    string       `json:"unit"`
	Prices  []PricePoint `json:"prices"` // sorted by From; the first applies before it too
	// Pool is the included-usage pool the SKU draws on ("" for none);
	// Weight is how many pool units one unit of the SKU uses (0 means 1).
	Pool   string `json:"pool,omitempty"`
	Weight int64  `json:"weight,omitempty"`
	// FreeInPublic makes usage in public repositories free (standard
	// runners, packages): it is discounted entirely and draws on no pool.
	FreeInPublic bool `json:"free_in_public,omitempty"`
	// Legacy is the key of the legacy Actions endpoint's
	// minutes_used_breakdown the SKU's minutes are counted under.
	Legacy string `json:"legacy,omitempty"`
}

// PriceOn returns the price that applies on day d.
func (s *SKU) PriceOn(d Date) Price {
	p := Price(0)
	for i, pp := range s.Prices {
		if i == 0 || !d.Before(pp.From) {
			p = pp.Price
		}
	}
	return p
}

func (s *SKU) weight() Quantity {
	if s.Weight <= 0 {
		return 1
	}
	return Quantity(s.Weight)
}

// Plan is what an account's plan includes each calendar month, by pool, in
// the pool's unit (GB for the storage pools).
type Plan struct {
	Included map[string]Quantity `json:"included"`
	// PurchasedCommitters is the number of Advanced Security licenses bought.
	PurchasedCommitters int `json:"purchased_advanced_security_committers,omitempty"`
}

// Plan names.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanTeam       = "team"
	PlanEnterprise = "enterprise"
)

// Catalog is the effective-dated price list, the plans, and which plan
// each account is on. Its zero value is not usable; start from
// DefaultCatalog and Apply a catalogue file for negotiated contracts.
type Catalog struct {
	SKUs  map[string]*SKU
	Plans map[string]*Plan
	// Accounts maps an account key (Account.Key: "enterprise:acme",
	// "organization:acme-web", "user:mona") to its plan; accounts not
	// listed are on the default plan of their kind (enterprises on
	// PlanEnterprise, organizations and users on PlanFree).
	Accounts map[string]string
}

// SKU returns the SKU with id, or nil.
func (c *Catalog) SKU(id string) *SKU { return c.SKUs[id] }

// PlanOf returns the plan of a billing account.
func (c *Catalog) PlanOf(a Account) *Plan {
	name, ok := c.Accounts[a.Key()]
	if !ok {
		name = PlanFree
		if a.Kind == KindEnterprise {
			name = PlanEnterprise
		}
	}
	if p := c.Plans[name]; p != nil {
		return p
	}
	return &Plan{}
}

// IncludedFor is what a plan includes of pool in the month starting at
// month, in the pool's consumption unit (GB-hours for hourly pools).
func (p *Plan) IncludedFor(pool string, month Date) Quantity {
	q := p.Included[pool]
	if hourlyPools[pool] {
		q *= Quantity(month.DaysInMonth() * 24)
	}
	return q
}

// SortedSKUs returns the SKU ids in order.
func (c *Catalog) SortedSKUs() []string { return slices.Sorted(maps.Keys(c.SKUs)) }

// d is a Date literal for the default catalogue.
func d(s string) Date {
	t, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// usd parses a price literal.
func usd(s string) Price {
	v, err := ParseDecimal(s)
	if err != nil {
		panic(s + ": " + err.Error())
	}
	return Price(v)
}

// DefaultCatalog returns GitHub's list prices and plans as researched
// (doc/billing.md lists them with their sources): runner prices change on
// 2026-01-01, self-hosted runners in private repositories cost $0.002 a
// minute from 2026-03-01.
func DefaultCatalog() *Catalog {
	c := &Catalog{SKUs: map[string]*SKU{}, Plans: map[string]*Plan{}, Accounts: map[string]string{}}
	priceChange := d("2026-01-01")
	runner := func(id, legacy, before, after string, pool bool, weight int64) {
		s := &SKU{Product: "actions", Unit: UnitMinutes, Legacy: legacy,
			Prices: []PricePoint{{d("2000-01-01"), usd(before)}, {priceChange, usd(after)}}}
		if pool { // standard runners: included minutes, free in public repositories
			s.Pool, s.Weight, s.FreeInPublic = PoolActionsMinutes, weight, true
		}
		c.SKUs["actions_"+id] = s
	}
	runner("linux_slim", "UBUNTU", "0.002", "0.002", true, 1)
	runner("linux", "UBUNTU", "0.008", "0.006", true, 1)
	runner("windows", "WINDOWS", "0.016", "0.010", true, 2)
	runner("macos", "MACOS", "0.080", "0.062", true, 10)
	runner("linux_arm", "UBUNTU", "0.005", "0.005", true, 1)
	for _, r := range [][3]string{
		{"linux_2_core_advanced", "0.008", "0.006"},
		{"linux_4_core", "0.016", "0.012"}, {"linux_8_core", "0.032", "0.022"},
		{"linux_16_core", "0.064", "0.042"}, {"linux_32_core", "0.128", "0.082"},
		{"linux_64_core", "0.256", "0.162"}, {"linux_96_core", "0.384", "0.252"},
		{"windows_4_core", "0.032", "0.022"}, {"windows_8_core", "0.064", "0.042"},
		{"windows_16_core", "0.128", "0.082"}, {"windows_32_core", "0.256", "0.162"},
		{"windows_64_core", "0.512", "0.322"}, {"windows_96_core", "0.768", "0.552"},
		{"macos_l", "0.12", "0.077"}, {"macos_xl", "0.16", "0.102"},
		{"linux_2_core_arm", "0.005", "0.005"}, {"linux_4_core_arm", "0.01", "0.008"},
		{"linux_8_core_arm", "0.02", "0.014"}, {"linux_16_core_arm", "0.04", "0.026"},
		{"linux_32_core_arm", "0.08", "0.050"}, {"linux_64_core_arm", "0.16", "0.098"},
		{"windows_2_core_arm", "0.01", "0.008"}, {"windows_4_core_arm", "0.02", "0.014"},
		{"windows_8_core_arm", "0.04", "0.026"}, {"windows_16_core_arm", "0.08", "0.050"},
		{"windows_32_core_arm", "0.16", "0.098"}, {"windows_64_core_arm", "0.32", "0.194"},
		{"linux_4_core_gpu", "0.07", "0.052"}, {"windows_4_core_gpu", "0.14", "0.102"},
	} {
		runner(r[0], legacyKey(r[0]), r[1], r[2], false, 0)
	}
	// Self-hosted runners: free until the cloud platform charge of
	// 2026-03-01; free in public repositories; draw on included minutes
	// once they cost something (a row at price 0 draws on no pool).
	c.SKUs["actions_self_hosted"] = &SKU{Product: "actions", Unit: UnitMinutes, Legacy: "self_hosted",
		Prices: []PricePoint{{d("2000-01-01"), 0}, {d("2026-03-01"), usd("0.002")}},
		Pool:   PoolActionsMinutes, Weight: 1, FreeInPublic: true}
	storage := func(id, product, perGBHour, pool string, free bool) {
		c.SKUs[id] = &SKU{Product: product, Unit: UnitGigabyteHours, Prices: []PricePoint{{d("2000-01-01"), usd(perGBHour)}}, Pool: pool, FreeInPublic: free}
	}
	storage("actions_storage", "actions", "0.00033602", PoolStorage, true)
	storage("actions_cache_storage", "actions", "0.00009409", "", false)
	storage("actions_custom_image_storage", "actions", "0.00009409", "", false)
	storage("packages_storage", "packages", "0.00033602", PoolStorage, true)
	storage("git_lfs_storage", "git_lfs", "0.00009409", PoolLFSStorage, false)
	storage("codespaces_storage", "codespaces", "0.00009409", "", false)
	storage("codespaces_prebuild_storage", "codespaces", "0.00009409", "", false)
	flat := func(id, product, unit, price, pool string, free bool) {
		c.SKUs[id] = &SKU{Product: product, Unit: unit, Prices: []PricePoint{{d("2000-01-01"), usd(price)}}, Pool: pool, FreeInPublic: free}
	}
	flat("packages_bandwidth", "packages", UnitGigabytes, "0.50", PoolPackagesTransfer, true)
	flat("git_lfs_bandwidth", "git_lfs", UnitGigabytes, "0.0875", PoolLFSBandwidth, false)
	for i, cores := range []string{"2", "4", "8", "16", "32"} {
		flat("codespaces_compute_d"+cores, "codespaces", UnitHours, []string{"0.18", "0.36", "0.72", "1.44", "2.88"}[i], "", false)
	}
	flat("copilot_for_business", "copilot", UnitUserMonths, "19", "", false)
	flat("copilot_enterprise", "copilot", UnitUserMonths, "39", "", false)
	flat("copilot_standalone", "copilot", UnitUserMonths, "19", "", false)
	flat("copilot_premium_request", "copilot", UnitRequests, "0.04", "", false)
	flat("copilot_ai_credits", "copilot", UnitCredits, "0.01", "", false)
	flat("models_inference", "models", UnitRequests, "0.00001", "", false)
	flat("spark_ai_credits", "spark", UnitCredits, "0.01", "", false)
	flat("ghas_licenses", "ghas", UnitUserMonths, "49", "", false)
	flat("ghas_code_security_licenses", "ghas", UnitUserMonths, "30", "", false)
	flat("ghas_secret_protection_licenses", "ghas", UnitUserMonths, "19", "", false)
	flat("ghec_licenses", "ghec", UnitUserMonths, "21", "", false)
	for id, s := range c.SKUs {
		s.ID = id
	}
	gb := func(s string) Quantity { v, _ := ParseDecimal(s); return Quantity(v) }
	plan := func(name, minutes, storageGB, transferGB, lfsGB string) {
		c.Plans[name] = &Plan{Included: map[string]Quantity{
			PoolActionsMinutes: gb(minutes), PoolStorage: gb(storageGB), PoolPackagesTransfer: gb(transferGB),
			PoolLFSStorage: gb(lfsGB), PoolLFSBandwidth: gb(lfsGB)}}
	}
	plan(PlanFree, "2000", "0.5", "1", "10")
	plan(PlanPro, "3000", "2", "10", "10")
	plan(PlanTeam, "3000", "2", "10", "250")
	plan(PlanEnterprise, "50000", "50", "100", "250")
	return c
}

// legacyKey maps a larger runner SKU to its key in the legacy breakdown:
// the contract's keys where it has one (ubuntu_4_core…), the SKU id otherwise.
func legacyKey(id string) string {
	switch id {
	case "linux_4_core", "linux_8_core", "linux_16_core", "linux_32_core", "linux_64_core":
		return "ubuntu_" + strings.TrimPrefix(id, "linux_")
	case "windows_4_core", "windows_8_core", "windows_16_core", "windows_32_core", "windows_64_core":
		return id
	case "macos_l":
		return "macos_12_core"
	}
	return id
}

// catalogFile is the JSON form of a catalogue override (doc/billing.md).
type catalogFile struct {
	SKUs     map[string]*skuOverride `json:"skus"`
	Plans    map[string]*planFile    `json:"plans"`
	Accounts map[string]string       `json:"accounts"`
}

type skuOverride struct {
	Product      *string      `json:"product"`
	Unit         *string      `json:"unit"`
	Prices       []PricePoint `json:"prices"`
	Pool         *string      `json:"pool"`
	Weight       *int64       `json:"weight"`
	FreeInPublic *bool        `json:"free_in_public"`
	Legacy       *string      `json:"legacy"`
}

type planFile struct {
	Included            map[string]json.Number `json:"included"`
	PurchasedCommitters *int                   `json:"purchased_advanced_security_committers"`
}

// Apply reads a catalogue file (JSON) and merges it onto c: prices replace
// a SKU's price list, new SKUs need a product and unit, plan quotas and
// account plans override one by one. Errors name the entry at fault.
func (c *Catalog) Apply(r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("billing catalogue: %w", err)
	}
	for id, o := range f.SKUs {
		if o == nil {
			return fmt.Errorf("billing catalogue: skus.%s: is null", id)
		}
		s := c.SKUs[id]
		if s == nil {
			if o.Product == nil || o.Unit == nil || len(o.Prices) == 0 {
				return fmt.Errorf("billing catalogue: skus.%s: a new SKU needs product, unit and prices", id)
			}
			s = &SKU{ID: id}
		} else {
			cp := *s
			s = &cp
		}
		if o.Product != nil {
			if _, ok := productNames[*o.Product]; !ok {
				return fmt.Errorf("billing catalogue: skus.%s.product: unknown product %q", id, *o.Product)
			}
			s.Product = *o.Product
		}
		if o.Unit != nil {
			s.Unit = *o.Unit
		}
		if o.Prices != nil {
			ps := slices.Clone(o.Prices)
			slices.SortFunc(ps, func(a, b PricePoint) int { return a.From.Compare(b.From) })
			for i, p := range ps {
				if p.Price < 0 {
					return fmt.Errorf("billing catalogue: skus.%s.prices[%d]: negative price", id, i)
				}
				if i > 0 && p.From == ps[i-1].From {
					return fmt.Errorf("billing catalogue: skus.%s.prices: two prices from %s", id, p.From)
				}
			}
			s.Prices = ps
		}
		if o.Pool != nil {
			if *o.Pool != "" && !validPool(*o.Pool) {
				return fmt.Errorf("billing catalogue: skus.%s.pool: unknown pool %q", id, *o.Pool)
			}
			s.Pool = *o.Pool
		}
		if o.Weight != nil {
			if *o.Weight < 0 {
				return fmt.Errorf("billing catalogue: skus.%s.weight: negative", id)
			}
			s.Weight = *o.Weight
		}
		if o.FreeInPublic != nil {
			s.FreeInPublic = *o.FreeInPublic
		}
		if o.Legacy != nil {
			s.Legacy = *o.Legacy
		}
		c.SKUs[id] = s
	}
	for name, pf := range f.Plans {
		p := &Plan{Included: map[string]Quantity{}}
		if old := c.Plans[name]; old != nil {
			maps.Copy(p.Included, old.Included)
			p.PurchasedCommitters = old.PurchasedCommitters
		}
		for pool, v := range pf.Included {
			if !validPool(pool) {
				return fmt.Errorf("billing catalogue: plans.%s.included.%s: unknown pool", name, pool)
			}
			q, err := ParseDecimal(v.String())
			if err != nil || q < 0 {
				return fmt.Errorf("billing catalogue: plans.%s.included.%s: must be a non-negative number", name, pool)
			}
			p.Included[pool] = Quantity(q)
		}
		if pf.PurchasedCommitters != nil {
			p.PurchasedCommitters = *pf.PurchasedCommitters
		}
		c.Plans[name] = p
	}
	for acct, plan := range f.Accounts {
		if _, ok := c.Plans[plan]; !ok {
			return fmt.Errorf("billing catalogue: accounts.%s: unknown plan %q", acct, plan)
		}
		if _, err := ParseAccountKey(acct); err != nil {
			return fmt.Errorf("billing catalogue: accounts.%s: %v", acct, err)
		}
		c.Accounts[strings.ToLower(acct)] = plan
	}
	return nil
}

func validPool(p string) bool {
	switch p {
	case PoolActionsMinutes, PoolStorage, PoolPackagesTransfer, PoolLFSStorage, PoolLFSBandwidth:
		return true
	}
	return false
}

// Date is a UTC calendar day.
type Date struct{ t time.Time }

// DateOf is the UTC day holding t.
func DateOf(t time.Time) Date {
	y, m, dd := t.UTC().Date()
	return Date{time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)}
}

// NewDate returns the day y-m-d (normalized as time.Date does).
func NewDate(y int, m time.Month, dd int) Date {
	return Date{time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("must be a date YYYY-MM-DD")
	}
	return Date{t}, nil
}

// Time is the start of the day.
func (d Date) Time() time.Time { return d.t }

func (d Date) String() string { return d.t.Format(time.DateOnly) }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// Compare compares d and e.
func (d Date) Compare(e Date) int { return d.t.Compare(e.t) }

// AddDays returns d + n days.
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// MonthStart is the first day of d's month.
func (d Date) MonthStart() Date { return NewDate(d.t.Year(), d.t.Month(), 1) }

// DaysInMonth is the number of days of d's month.
func (d Date) DaysInMonth() int { return NewDate(d.t.Year(), d.t.Month()+1, 0).t.Day() }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a date string YYYY-MM-DD")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ProductSKUs returns the ids of the product's SKUs, sorted.
func (c *Catalog) ProductSKUs(product string) []string {
	var out []string
	for _, id := range c.SortedSKUs() {
		if c.SKUs[id].Product == product {
			out = append(out, id)
		}
	}
	return out
}
