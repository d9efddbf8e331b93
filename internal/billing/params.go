package billing

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Endpoint names the usage-report endpoint whose parameters are parsed;
// they differ in defaults.
type Endpoint int

const (
	// EndpointUsage is …/settings/billing/usage: no month means the whole year.
	EndpointUsage Endpoint = iota
	// EndpointSummary is …/usage/summary: no year and no month means the current month.
	EndpointSummary
	// EndpointPremiumRequest is …/premium_request/usage (defaults as summary).
	EndpointPremiumRequest
	// EndpointAICredit is …/ai_credit/usage (defaults as summary).
	EndpointAICredit
)

// Period is the time a usage report covers.
type Period struct {
	Year  int
	Month int // 0: the whole year
	Day   int // 0: the whole month (or year)
	Hour  int // -1: the whole day (or longer)
}

// Range returns [from, to) of the period.
func (p Period) Range() (time.Time, time.Time) {
	switch {
	case p.Month == 0:
		return time.Date(p.Year, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(p.Year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	case p.Day == 0:
		return time.Date(p.Year, time.Month(p.Month), 1, 0, 0, 0, 0, time.UTC), time.Date(p.Year, time.Month(p.Month)+1, 1, 0, 0, 0, 0, time.UTC)
	case p.Hour < 0:
		from := time.Date(p.Year, time.Month(p.Month), p.Day, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 0, 1)
	}
	from := time.Date(p.Year, time.Month(p.Month), p.Day, p.Hour, 0, 0, 0, time.UTC)
	return from, from.Add(time.Hour)
}

// Params are the parsed query parameters of a usage-report endpoint.
// Filters are lower case (Product is a product id); empty means all.
type Params struct {
	Period       Period
	Organization string
	Repository   string
	User         string
	Product      string
	SKU          string
	Model        string
	CostCenter   CostCenterFilter
}

// ParseParams parses and validates the query parameters of ep against the
// catalogue (product and SKU must exist), with now for the defaults. Every
// error is a 422 naming the parameter. Every variant accepts every filter
// (a documented extension: GitHub's organization and user variants have
// fewer); unknown parameters are ignored, as on GitHub.
func ParseParams(q url.Values, ep Endpoint, c *Catalog, now time.Time) (*Params, error) {
	now = now.UTC()
	p := &Params{Period: Period{Hour: -1}}
	intParam := func(name string, lo, hi int) (int, bool, error) {
		s := q.Get(name)
		if s == "" {
			return 0, false, nil
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < lo || v > hi {
			return 0, false, usage.Invalid("UsageReport", name, name+" must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
		}
		return v, true, nil
	}
	year, hasYear, err := intParam("year", 1000, 9999)
	if err != nil {
		return nil, err
	}
	month, hasMonth, err := intParam("month", 1, 12)
	if err != nil {
		return nil, err
	}
	day, hasDay, err := intParam("day", 1, 31)
	if err != nil {
		return nil, err
	}
	hour, hasHour, err := intParam("hour", 0, 23)
	if err != nil {
		return nil, err
	}
	if !hasYear {
		year = now.Year()
	}
	if !hasMonth && (hasDay || (ep != EndpointUsage && !hasYear)) {
		month = int(now.Month())
	}
	if hasDay && day > NewDate(year, time.Month(month), 1).DaysInMonth() {
		return nil, usage.Invalid("UsageReport", "day", "day "+strconv.Itoa(day)+" does not exist in "+time.Month(month).String()+" "+strconv.Itoa(year))
	}
	if hasHour && !hasDay {
		return nil, usage.Invalid("UsageReport", "hour", "hour needs day (and month)")
	}
	p.Period = Period{Year: year, Month: month, Day: day, Hour: -1}
	if hasHour {
		p.Period.Hour = hour
	}
	p.Organization = strings.ToLower(q.Get("organization"))
	if p.Organization != "" && !validLogin(p.Organization) {
		return nil, usage.Invalid("UsageReport", "organization", "organization must be an organization login")
	}
	p.Repository = strings.ToLower(q.Get("repository"))
	if p.Repository != "" && !validRepo(p.Repository) {
		return nil, usage.Invalid("UsageReport", "repository", "repository must be owner/name")
	}
	p.User = strings.ToLower(q.Get("user"))
	if p.User != "" && !validLogin(p.User) {
		return nil, usage.Invalid("UsageReport", "user", "user must be a user login")
	}
	if s := q.Get("product"); s != "" {
		id, ok := ProductID(s)
		if !ok {
			return nil, usage.Invalid("UsageReport", "product", "unknown product "+strconv.Quote(s))
		}
		p.Product = id
	}
	if s := strings.ToLower(q.Get("sku")); s != "" {
		sku := c.SKU(s)
		if sku == nil {
			return nil, usage.Invalid("UsageReport", "sku", "unknown SKU "+strconv.Quote(s))
		}
		if p.Product != "" && sku.Product != p.Product {
			return nil, usage.Invalid("UsageReport", "sku", "SKU "+s+" is not a SKU of product "+p.Product)
		}
		p.SKU = s
	}
	p.Model = q.Get("model")
	if len(p.Model) > MaxNameLength {
		return nil, usage.Invalid("UsageReport", "model", "model is too long")
	}
	if _, ok := q["cost_center_id"]; ok {
		id := q.Get("cost_center_id")
		switch {
		case id == "":
			return nil, usage.Invalid("UsageReport", "cost_center_id", "cost_center_id must be a cost center id or none")
		case strings.EqualFold(id, "none"):
			p.CostCenter = CostCenterFilter{Set: true, None: true}
		case len(id) > 64:
			return nil, usage.Invalid("UsageReport", "cost_center_id", "cost_center_id is too long")
		default:
			p.CostCenter = CostCenterFilter{Set: true, ID: id}
		}
	}
	return p, nil
}
