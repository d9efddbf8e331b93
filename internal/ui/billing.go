package ui

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// billingAccount is an account whose usage the token may read.
type billingAccount struct {
	Kind, Name, URL string // Kind: "enterprise" or "org"
	Net             string // this month's net amount
}

// billingAccounts are the enterprises and organizations whose usage
// reports the actor may read, by the API's own rules (cfg.BillingScope).
func (h *Handler) billingAccounts(ctx context.Context, a *usage.Actor) ([]billingAccount, []billing.Scope, error) {
	ents, err := h.cfg.Store.ListEnterprises(ctx)
	if err != nil {
		return nil, nil, err
	}
	orgs, err := h.cfg.Store.ListOrganizations(ctx, 0)
	if err != nil {
		return nil, nil, err
	}
	var out []billingAccount
	var scopes []billing.Scope
	try := func(kind, name string) error {
		sc, err := h.cfg.BillingScope(ctx, a, kind, name)
		if err != nil {
			if k := usage.ErrorKind(err); k == usage.KindNotFound || k == usage.KindForbidden {
				return nil
			}
			return err
		}
		out = append(out, billingAccount{Kind: kind, Name: name, URL: Prefix + "billing/" + kind + "/" + url.PathEscape(name)})
		scopes = append(scopes, sc)
		return nil
	}
	for _, e := range ents {
		if err := try("enterprise", e.Slug); err != nil {
			return nil, nil, err
		}
	}
	for _, o := range orgs {
		if err := try("org", o.Login); err != nil {
			return nil, nil, err
		}
	}
	return out, scopes, nil
}

type billingIndexPage struct {
	Base
	Accounts []billingAccount
	Month    string
}

func (h *Handler) billingIndex(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.cfg.Billing == nil {
		return errNotFound
	}
	accts, scopes, err := h.billingAccounts(r.Context(), v.actor)
	if err != nil {
		return err
	}
	now := h.cfg.Now().UTC()
	p, err := billing.ParseParams(url.Values{}, billing.EndpointSummary, h.cfg.Billing.Catalog, now) // the current month
	if err != nil {
		return err
	}
	for i := range accts {
		s, err := h.cfg.Billing.Summary(r.Context(), scopes[i], p, billing.EndpointSummary)
		if err != nil {
			return err
		}
		var net billing.Amount
		for _, it := range s.UsageItems {
			net = net.Add(it.NetAmount)
		}
		accts[i].Net = usd(net)
	}
	h.render(w, r, http.StatusOK, "billing-index", &billingIndexPage{Base: h.base(r, v, "Billing", "billing"), Accounts: accts,
		Month: now.Format("January 2006")})
	return nil
}

// Groups of the breakdown, as GitHub's metered usage page offers them.
var billingGroups = []string{"product", "sku", "organization", "repository", "costcenter"}

const billingTopN = 10

type billingPage struct {
	Base
	Kind, Name             string
	Frame                  string
	Frames, Groups         []Option
	Group                  string
	Filters                billingFilters
	Hidden                 []Option
	Gross, Discount, Net   string
	Rows                   []billingRow
	Chart                  template.HTML
	APIURL, CSVURL, FromTo string
	Items                  int
	QuantityShown          bool
	// CostCenters are the enterprise's cost centers and their resources
	// (empty without any, or for an organization).
	CostCenters []costCenterView
	// Budgets are the account's budgets this month; BudgetsReadable is
	// false when the token may not read them.
	Budgets         []budgetView
	BudgetsReadable bool
	BudgetMonth     string
	ccNames         map[string]string
}

type costCenterView struct {
	ID, Name, State string
	Resources       []string
	Net             string
}

type billingFilters struct {
	Product, SKU, Organization, Repository string
}

// billingRow is one row of the breakdown: a group (or "Other", or the
// total) with its exact amounts.
type billingRow struct {
	Key                  string
	Quantity, Unit       string // only when grouped by SKU (one unit per row)
	Gross, Discount, Net billing.Amount
	Other, Total         bool
}

// billingData reads the page's usage through the billing service, with
// the API's parameter parsing, and groups it.
func (h *Handler) billingData(r *http.Request, v *viewer) (*billingPage, error) {
	if h.cfg.Billing == nil {
		return nil, errNotFound
	}
	kind, name := r.PathValue("kind"), r.PathValue("name")
	if kind != "enterprise" && kind != "org" {
		return nil, errNotFound
	}
	sc, err := h.cfg.BillingScope(r.Context(), v.actor, kind, name)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	now := h.cfg.Now().UTC()
	p := &billingPage{Kind: kind, Name: name, Frame: q.Get("frame"), Group: q.Get("group"),
		Filters: billingFilters{q.Get("product"), q.Get("sku"), q.Get("organization"), q.Get("repository")}}
	api := url.Values{}
	switch p.Frame {
	case "last-month":
		last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
		api.Set("year", strconv.Itoa(last.Year()))
		api.Set("month", strconv.Itoa(int(last.Month())))
	case "this-year":
		api.Set("year", strconv.Itoa(now.Year()))
	default:
		p.Frame = "this-month"
		api.Set("year", strconv.Itoa(now.Year()))
		api.Set("month", strconv.Itoa(int(now.Month())))
	}
	if !slices.Contains(billingGroups, p.Group) {
		p.Group = "product"
	}
	for k, val := range map[string]string{"product": p.Filters.Product, "sku": p.Filters.SKU, "organization": p.Filters.Organization, "repository": p.Filters.Repository} {
		if val != "" {
			api.Set(k, val)
		}
	}
	params, err := billing.ParseParams(api, billing.EndpointUsage, h.cfg.Billing.Catalog, now)
	if err != nil {
		return nil, err
	}
	// The usage endpoint answers, without cost_center_id, only usage that
	// has no cost center; an enterprise's whole usage is that plus each
	// cost center's, which UsageByCostCenter reads in one pass, each item
	// tagged with its cost center (what usage?cost_center_id=ID answers
	// for it), for the grouping and the cost centers' net amounts.
	var ccs []*billing.CostCenter
	if kind == "enterprise" && h.cfg.CostCenters != nil && h.cfg.Billing.Attribution != nil {
		if ccs, err = h.cfg.CostCenters(r.Context(), v.actor, name); err != nil {
			return nil, err
		}
	}
	var rep *billing.UsageReport
	var itemCC []string
	ccNet := map[string]billing.Amount{} // by cost-center id; "" for none
	if len(ccs) > 0 {
		var refs []billing.CostCenterRef
		if rep, refs, err = h.cfg.Billing.UsageByCostCenter(r.Context(), sc, params); err != nil {
			return nil, err
		}
		itemCC = make([]string, len(refs))
		for i, ref := range refs {
			itemCC[i] = cmpOr(ref.Name, "(no cost center)")
			ccNet[ref.ID] = ccNet[ref.ID].Add(rep.UsageItems[i].NetAmount)
		}
	} else {
		one, err := h.cfg.Billing.Usage(r.Context(), sc, params)
		if err != nil {
			return nil, err
		}
		rep = &one
		itemCC = make([]string, len(rep.UsageItems))
		for i := range itemCC {
			itemCC[i] = "(no cost center)"
		}
	}
	p.ccNames = map[string]string{}
	for _, cc := range ccs {
		p.ccNames[cc.ID] = cc.Name
		view := costCenterView{ID: cc.ID, Name: cc.Name, State: cc.State, Net: usd(ccNet[cc.ID])}
		for _, res := range cc.Resources {
			view.Resources = append(view.Resources, string(res.Type)+" "+res.Name)
		}
		p.CostCenters = append(p.CostCenters, view)
	}
	from, to := params.Period.Range()
	p.FromTo = from.Format("2006-01-02") + " to " + to.AddDate(0, 0, -1).Format("2006-01-02")
	path := "/enterprises/" + url.PathEscape(name)
	if kind == "org" {
		path = "/organizations/" + url.PathEscape(name)
	}
	p.APIURL = path + "/settings/billing/usage?" + api.Encode()
	if len(ccs) > 0 {
		// usage without cost_center_id is the unassigned part only; the
		// summary's default is all usage, with the same totals.
		p.APIURL = path + "/settings/billing/usage/summary?" + api.Encode()
	}
	p.Items = len(rep.UsageItems)
	p.QuantityShown = p.Group == "sku"

	// Group, then keep the top N by net amount and sum the rest as "Other".
	type agg struct {
		row billingRow
		qty billing.Quantity
	}
	groups := map[string]*agg{}
	var total billingRow
	total.Key, total.Total = "Total", true
	byDay := map[string][2]billing.Amount{}
	for i := range rep.UsageItems {
		it := &rep.UsageItems[i]
		key := ""
		switch p.Group {
		case "product":
			key = it.Product
		case "sku":
			key = it.SKU
		case "organization":
			if it.OrganizationName != nil {
				key = *it.OrganizationName
			}
		case "repository":
			key = it.RepositoryName
		case "costcenter":
			key = itemCC[i]
		}
		if key == "" {
			key = "(none)"
		}
		g := groups[key]
		if g == nil {
			g = &agg{row: billingRow{Key: key, Unit: it.UnitType}}
			groups[key] = g
		}
		g.row.Gross = g.row.Gross.Add(it.GrossAmount)
		g.row.Discount = g.row.Discount.Add(it.DiscountAmount)
		g.row.Net = g.row.Net.Add(it.NetAmount)
		g.qty += it.Quantity
		total.Gross = total.Gross.Add(it.GrossAmount)
		total.Discount = total.Discount.Add(it.DiscountAmount)
		total.Net = total.Net.Add(it.NetAmount)
		day := it.Date[:10]
		if params.Period.Month == 0 {
			day = it.Date[:7] // a year: by month
		}
		d := byDay[day]
		byDay[day] = [2]billing.Amount{d[0].Add(it.GrossAmount), d[1].Add(it.NetAmount)}
	}
	rows := make([]billingRow, 0, len(groups))
	for _, g := range groups {
		if p.QuantityShown {
			g.row.Quantity = g.qty.String()
		}
		rows = append(rows, g.row)
	}
	slices.SortFunc(rows, func(a, b billingRow) int { return cmp.Or(b.Net.Cmp(a.Net), strings.Compare(a.Key, b.Key)) })
	if len(rows) > billingTopN {
		other := billingRow{Key: fmt.Sprintf("Other (%d more)", len(rows)-billingTopN), Other: true}
		for _, r := range rows[billingTopN:] {
			other.Gross = other.Gross.Add(r.Gross)
			other.Discount = other.Discount.Add(r.Discount)
			other.Net = other.Net.Add(r.Net)
		}
		rows = append(rows[:billingTopN:billingTopN], other)
	}
	p.Rows = append(rows, total)
	p.Gross, p.Discount, p.Net = usd(total.Gross), usd(total.Discount), usd(total.Net)

	// The chart: gross and net per day (per month over a year).
	var labels []string
	var gross, net []int64
	if params.Period.Month == 0 {
		for m := 1; m <= 12; m++ {
			labels = append(labels, fmt.Sprintf("%04d-%02d", params.Period.Year, m))
		}
	} else {
		last := to
		if now.Before(last) {
			last = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
		}
		for d := from; d.Before(last); d = d.AddDate(0, 0, 1) {
			labels = append(labels, d.Format("2006-01-02"))
		}
	}
	for _, l := range labels {
		gross = append(gross, cents(byDay[l][0]))
		net = append(net, cents(byDay[l][1]))
	}
	p.Chart = moneyChart("Gross and net amount per "+map[bool]string{true: "month", false: "day"}[params.Period.Month == 0], labels, gross, net)

	p.Frames = options(r.URL, "frame", p.Frame, []string{"this-month", "last-month", "this-year"},
		map[string]string{"this-month": "This month", "last-month": "Last month", "this-year": "This year"})
	p.Groups = options(r.URL, "group", p.Group, billingGroups,
		map[string]string{"product": "Product", "sku": "SKU", "organization": "Organization", "repository": "Repository", "costcenter": "Cost center"})
	p.Hidden = hiddenInputs(r.URL, "product", "sku", "organization", "repository")
	csvURL := *r.URL
	csvURL.Path = strings.TrimSuffix(r.URL.Path, "/") + "/usage.csv"
	p.CSVURL = csvURL.RequestURI()
	return p, nil
}

func (h *Handler) billingAccountPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	p, err := h.billingData(r, v)
	if err != nil {
		return err
	}
	p.Base = h.base(r, v, p.Name+" · Billing", "billing")
	if p.Budgets, p.BudgetsReadable, err = h.budgetViews(r.Context(), v.actor, p.Kind, p.Name, p.ccNames); err != nil {
		return err
	}
	p.BudgetMonth = h.cfg.Now().UTC().Format("January 2006")
	h.render(w, r, http.StatusOK, "billing", p)
	return nil
}

// billingCSV exports exactly the rows of the page's breakdown, amounts
// exact (as the API writes them).
func (h *Handler) billingCSV(w http.ResponseWriter, r *http.Request, v *viewer) error {
	p, err := h.billingData(r, v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+p.Name+"-"+p.Frame+"-by-"+p.Group+`.csv"`)
	cw := csv.NewWriter(w)
	head := []string{p.Group}
	if p.QuantityShown {
		head = append(head, "quantity", "unit")
	}
	cw.Write(append(head, "gross_amount", "discount_amount", "net_amount"))
	for _, row := range p.Rows {
		rec := []string{row.Key}
		if p.QuantityShown {
			rec = append(rec, row.Quantity, row.Unit)
		}
		cw.Write(append(rec, row.Gross.String(), row.Discount.String(), row.Net.String()))
	}
	cw.Flush()
	return cw.Error()
}

// usd shows an amount in dollars and cents, rounded half away from zero
// (display only: the exact amount is in the CSV and the API).
func usd(a billing.Amount) string {
	c := cents(a)
	neg := c < 0
	if neg {
		c = -c
	}
	s := "$" + grouped(c/100) + "." + fmt.Sprintf("%02d", c%100)
	if neg {
		return "−" + s
	}
	return s
}

// cents is a rounded to whole cents (an Amount has 18 decimal places).
func cents(a billing.Amount) int64 {
	v := a.Big()
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(billing.AmountScale-2), nil)
	half := new(big.Int).Rsh(unit, 1)
	if v.Sign() < 0 {
		half.Neg(half)
	}
	v.Add(v, half)
	v.Quo(v, unit)
	return v.Int64()
}

// moneyChart draws gross (light) and net (solid) bars per label, in cents.
func moneyChart(label string, labels []string, gross, net []int64) template.HTML {
	var peak int64
	for _, g := range gross {
		peak = max(peak, g)
	}
	top := niceCeil(max(peak, 100))
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, template.HTMLEscapeString(label))
	for i := 0; i <= 4; i++ {
		v := top * int64(i) / 4
		y := padT + plotH - float64(plotH)*float64(i)/4
		fmt.Fprintf(&sb, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y, y)
		lab := compact(v / 100)
		if top < 10000 { // under $100: cents matter
			lab = centsText(v)
		}
		fmt.Fprintf(&sb, `<text class="ylab" x="%d" y="%.1f" text-anchor="end">$%s</text>`, padL-6, y+4, lab)
	}
	n := len(labels)
	if n > 0 {
		bw := float64(plotW) / float64(n)
		gap := max(1, bw*0.2)
		for i := range labels {
			x := padL + float64(i)*bw
			fmt.Fprintf(&sb, `<g class="pt" data-label="%s" data-gross-cents="%d" data-net-cents="%d"><title>%s: gross $%s, net $%s</title>`,
				labels[i], gross[i], net[i], labels[i], centsText(gross[i]), centsText(net[i]))
			fmt.Fprintf(&sb, `<rect class="hit" x="%.2f" y="%d" width="%.2f" height="%d"/>`, x, padT, bw, plotH)
			for j, v := range []int64{gross[i], net[i]} {
				if v <= 0 {
					continue
				}
				h := max(1, float64(plotH)*float64(v)/float64(top))
				fill, op := colorTotal, ` fill-opacity="0.35"`
				if j == 1 {
					op = ""
				}
				fmt.Fprintf(&sb, `<rect fill="%s"%s x="%.2f" y="%.2f" width="%.2f" height="%.2f"/>`, fill, op, x+gap/2, padT+plotH-h, bw-gap, h)
			}
			sb.WriteString(`</g>`)
		}
		step := max(1, (n+xLabels-1)/xLabels)
		for i := 0; i < n; i += step {
			x := padL + float64(i)*bw + bw/2
			lab := labels[i]
			if t, err := time.Parse("2006-01-02", lab); err == nil {
				lab = t.Format("Jan 2")
			} else if t, err := time.Parse("2006-01", lab); err == nil {
				lab = t.Format("Jan")
			}
			fmt.Fprintf(&sb, `<text class="xlab" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, chartH-10, lab)
		}
	}
	fmt.Fprintf(&sb, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, padL, chartW-padR, padT+plotH, padT+plotH)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

func centsText(c int64) string { return grouped(c/100) + "." + fmt.Sprintf("%02d", c%100) }
