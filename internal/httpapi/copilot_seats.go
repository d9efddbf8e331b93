package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/usage"
)

// Access of GitHub's Copilot seat management routes: organization owners
// (enterprise owners for the enterprise routes); classic tokens with
// manage_billing:copilot or read:org / read:enterprise to read, admin:org /
// admin:enterprise to change; fine-grained tokens with the "GitHub Copilot
// Business" permission.
var (
	seatOrgRead   = usage.Access{Scopes: []string{"manage_billing:copilot", "read:org"}, Permission: "organization_copilot_seat_management", Level: "read", Role: usage.RoleAdmin}
	seatOrgWrite  = usage.Access{Scopes: []string{"manage_billing:copilot", "admin:org"}, Permission: "organization_copilot_seat_management", Level: "write", Role: usage.RoleAdmin}
	seatEntRead   = usage.Access{Scopes: []string{"manage_billing:copilot", "read:enterprise"}, Permission: "enterprise_copilot_seat_management", Level: "read", Role: usage.RoleOwner}
	seatEntMember = usage.Access{Scopes: []string{"manage_billing:copilot", "read:org", "read:enterprise"}, Permission: "enterprise_copilot_seat_management", Level: "read", Role: usage.RoleOwner}
	seatEntWrite  = usage.Access{Scopes: []string{"manage_billing:copilot", "admin:enterprise"}, Permission: "enterprise_copilot_seat_management", Level: "write", Role: usage.RoleOwner}
	// Team reads need organization membership and read:org.
	teamRead = usage.Access{Scopes: []string{"read:org"}, Permission: "members", Level: "read"}
)

func (s *Server) seatOrg(r *http.Request, need usage.Access) (*usage.Organization, error) {
	if s.Copilot == nil {
		return nil, errCopilotDisabled
	}
	org, err := s.Store.OrganizationByLogin(r.Context(), r.PathValue("org"))
	if err != nil {
		if usage.IsNotFound(err) {
			return nil, usage.ErrNotFound
		}
		return nil, err
	}
	return org, usage.AuthorizeOrg(usage.ActorFrom(r.Context()), org, need)
}

func (s *Server) seatEnterprise(r *http.Request, need usage.Access) (*usage.Enterprise, error) {
	if s.Copilot == nil {
		return nil, errCopilotDisabled
	}
	ent, err := s.Store.EnterpriseBySlug(r.Context(), r.PathValue("enterprise"))
	if err != nil {
		if usage.IsNotFound(err) {
			return nil, usage.ErrNotFound
		}
		return nil, err
	}
	return ent, usage.AuthorizeEnterprise(usage.ActorFrom(r.Context()), ent, need)
}

// teamJSON is GitHub's "Team".
func teamJSON(r *http.Request, org *usage.Organization, t *usage.Team) map[string]any {
	api := apiBase(r) + "/orgs/" + org.Login + "/teams/" + t.Slug
	return map[string]any{"id": t.ID, "node_id": nodeID("T_", t.ID), "name": t.Name, "slug": t.Slug, "description": nil,
		"privacy": "closed", "notification_setting": "notifications_enabled", "permission": "pull",
		"permissions": map[string]bool{"pull": true, "triage": false, "push": false, "maintain": false, "admin": false},
		"url":         api, "html_url": webBase(r) + "/orgs/" + org.Login + "/teams/" + t.Slug, "members_url": api + "/members{/member}",
		"repositories_url": api + "/repos", "type": "organization", "organization_id": org.ID, "parent": nil}
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func seatJSON(r *http.Request, v copilot.SeatView) map[string]any {
	m := map[string]any{"assignee": simpleUser(r, v.User), "created_at": timestamp(v.CreatedAt), "updated_at": timestamp(v.UpdatedAt),
		"pending_cancellation_date": nil, "last_activity_at": nil, "last_activity_editor": nil, "plan_type": v.PlanType, "assigning_team": nil}
	if v.Org != nil {
		m["organization"] = simpleOrg(r, v.Org)
	}
	if v.Team != nil && v.Org != nil {
		m["assigning_team"] = teamJSON(r, v.Org, v.Team)
	}
	if v.PendingCancellation != 0 {
		m["pending_cancellation_date"] = v.PendingCancellation.String()
	}
	if v.Last != nil {
		m["last_activity_at"] = timestamp(v.Last.At)
		if v.Last.Editor != "" {
			m["last_activity_editor"] = v.Last.Editor
		}
	}
	return m
}

// decodeNames reads {"<field>": ["a", ...]}, at least one name.
func decodeNames(r *http.Request, field string) ([]string, error) {
	var body map[string]json.RawMessage
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, usage.Errorf(usage.KindBadRequest, "Problems parsing JSON")
	}
	var names []string
	raw, ok := body[field]
	if !ok || json.Unmarshal(raw, &names) != nil || len(names) == 0 {
		return nil, &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
			Fields: []usage.FieldError{{Resource: "CopilotSeat", Field: field, Code: "missing_field", Message: field + " must be a non-empty array of names"}}}
	}
	return names, nil
}

type seatsCreated struct {
	SeatsCreated int `json:"seats_created"`
}

type seatsCancelled struct {
	SeatsCancelled int `json:"seats_cancelled"`
}

func (s *Server) writeSeats(w http.ResponseWriter, r *http.Request, seats []copilot.SeatView) error {
	p, err := usage.ParsePage(r.URL.Query(), "CopilotSeat")
	if err != nil {
		return err
	}
	if !r.URL.Query().Has("per_page") {
		p.PerPage = 50 // GitHub's default on the seat lists
	}
	users := map[int64]bool{}
	for _, v := range seats {
		users[v.UserID] = true
	}
	items := []map[string]any{}
	for i := p.Offset(); i < len(seats) && i < p.Offset()+p.PerPage; i++ {
		items = append(items, seatJSON(r, seats[i]))
	}
	setLink(w, r, p, len(seats))
	writeJSON(w, http.StatusOK, map[string]any{"total_seats": len(users), "seats": items})
	return nil
}

func (s *Server) handleOrgCopilotBilling(w http.ResponseWriter, r *http.Request) error {
	org, err := s.seatOrg(r, seatOrgRead)
	if err != nil {
		return err
	}
	seats, err := s.Copilot.Seats(r.Context(), nil, org)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"seat_breakdown": copilot.Breakdown(seats, s.Now()),
		"public_code_suggestions": "unconfigured", "ide_chat": "enabled", "platform_chat": "enabled", "cli": "enabled",
		"seat_management_setting": "assign_selected", "plan_type": copilot.PlanBusiness})
	return nil
}

func (s *Server) handleOrgCopilotSeats(w http.ResponseWriter, r *http.Request) error {
	org, err := s.seatOrg(r, seatOrgRead)
	if err != nil {
		return err
	}
	seats, err := s.Copilot.Seats(r.Context(), nil, org)
	if err != nil {
		return err
	}
	return s.writeSeats(w, r, seats)
}

func (s *Server) handleEnterpriseCopilotSeats(w http.ResponseWriter, r *http.Request) error {
	ent, err := s.seatEnterprise(r, seatEntRead)
	if err != nil {
		return err
	}
	seats, err := s.Copilot.Seats(r.Context(), ent, nil)
	if err != nil {
		return err
	}
	return s.writeSeats(w, r, seats)
}

func (s *Server) orgSeatChange(add bool, teams bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		org, err := s.seatOrg(r, seatOrgWrite)
		if err != nil {
			return err
		}
		field := "selected_usernames"
		if teams {
			field = "selected_teams"
		}
		names, err := decodeNames(r, field)
		if err != nil {
			return err
		}
		var n int
		switch {
		case add && teams:
			n, err = s.Copilot.AddTeams(r.Context(), org, names)
		case add:
			n, err = s.Copilot.AddUsers(r.Context(), nil, org, names)
		case teams:
			n, err = s.Copilot.CancelTeams(r.Context(), org, names)
		default:
			n, err = s.Copilot.CancelUsers(r.Context(), nil, org, names)
		}
		if err != nil {
			return err
		}
		if add {
			writeJSON(w, http.StatusCreated, seatsCreated{n})
		} else {
			writeJSON(w, http.StatusOK, seatsCancelled{n})
		}
		return nil
	}
}

func (s *Server) enterpriseSeatChange(add bool, teams bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ent, err := s.seatEnterprise(r, seatEntWrite)
		if err != nil {
			return err
		}
		field := "selected_usernames"
		if teams {
			field = "selected_enterprise_teams"
		}
		names, err := decodeNames(r, field)
		if err != nil {
			return err
		}
		if teams {
			return copilot.ErrNoEnterpriseTeam(names)
		}
		var n int
		if add {
			n, err = s.Copilot.AddUsers(r.Context(), ent, nil, names)
		} else {
			n, err = s.Copilot.CancelUsers(r.Context(), ent, nil, names)
		}
		if err != nil {
			return err
		}
		if add {
			writeJSON(w, http.StatusCreated, seatsCreated{n})
		} else {
			writeJSON(w, http.StatusOK, seatsCancelled{n})
		}
		return nil
	}
}

func (s *Server) handleOrgMemberSeat(w http.ResponseWriter, r *http.Request) error {
	org, err := s.seatOrg(r, seatOrgRead)
	if err != nil {
		return err
	}
	seats, err := s.Copilot.Seats(r.Context(), nil, org)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(seats, func(v copilot.SeatView) bool { return strings.EqualFold(v.User.Login, r.PathValue("username")) })
	if i < 0 {
		return usage.ErrNotFound
	}
	writeJSON(w, http.StatusOK, seatJSON(r, seats[i]))
	return nil
}

func (s *Server) handleEnterpriseMemberSeat(w http.ResponseWriter, r *http.Request) error {
	ent, err := s.seatEnterprise(r, seatEntMember)
	if err != nil {
		return err
	}
	seats, err := s.Copilot.Seats(r.Context(), ent, nil)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, v := range seats {
		if strings.EqualFold(v.User.Login, r.PathValue("username")) {
			items = append(items, seatJSON(r, v))
		}
	}
	if len(items) == 0 {
		return usage.ErrNotFound
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_seats": len(items), "seats": items})
	return nil
}

// teamOrg resolves {org} for the team reads: any member may read them.
func (s *Server) teamOrg(r *http.Request) (*usage.Organization, []*usage.Team, error) {
	org, err := s.seatOrg(r, teamRead)
	if err != nil {
		return nil, nil, err
	}
	teams, err := s.Store.ListTeams(r.Context(), org.ID)
	return org, teams, err
}

func (s *Server) teamBySlug(r *http.Request) (*usage.Organization, *usage.Team, error) {
	org, teams, err := s.teamOrg(r)
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(teams, func(t *usage.Team) bool { return strings.EqualFold(t.Slug, r.PathValue("team_slug")) })
	if i < 0 {
		return nil, nil, usage.ErrNotFound
	}
	return org, teams[i], nil
}

func (s *Server) handleListTeams(w http.ResponseWriter, r *http.Request) error {
	org, teams, err := s.teamOrg(r)
	if err != nil {
		return err
	}
	p, err := usage.ParsePage(r.URL.Query(), "Team")
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for i := p.Offset(); i < len(teams) && i < p.Offset()+p.PerPage; i++ {
		items = append(items, teamJSON(r, org, teams[i]))
	}
	setLink(w, r, p, len(teams))
	writeJSON(w, http.StatusOK, items)
	return nil
}

func (s *Server) handleGetTeam(w http.ResponseWriter, r *http.Request) error {
	org, team, err := s.teamBySlug(r)
	if err != nil {
		return err
	}
	members, err := s.Copilot.Store.CopilotTeamMembers(r.Context(), team.ID)
	if err != nil {
		return err
	}
	m := teamJSON(r, org, team)
	created := timestamp(org.CreatedAt)
	o := fullOrg(r, org)
	o["name"] = org.Login
	m["organization"] = o
	m["members_count"] = len(members)
	m["repos_count"] = 0
	m["created_at"], m["updated_at"] = created, created
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) handleTeamMembers(w http.ResponseWriter, r *http.Request) error {
	_, team, err := s.teamBySlug(r)
	if err != nil {
		return err
	}
	if role := r.URL.Query().Get("role"); role != "" && role != "all" && role != "member" && role != "maintainer" {
		return usage.Invalid("TeamMember", "role", fmt.Sprintf("%q is not member, maintainer or all", role))
	}
	p, err := usage.ParsePage(r.URL.Query(), "TeamMember")
	if err != nil {
		return err
	}
	ids, err := s.Copilot.Store.CopilotTeamMembers(r.Context(), team.ID)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("role") == "maintainer" {
		ids = nil // ghusage's teams have members only
	}
	items := []map[string]any{}
	for i := p.Offset(); i < len(ids) && i < p.Offset()+p.PerPage; i++ {
		u, err := s.Store.UserByID(r.Context(), ids[i])
		if err != nil {
			return err
		}
		items = append(items, simpleUser(r, u))
	}
	setLink(w, r, p, len(ids))
	writeJSON(w, http.StatusOK, items)
	return nil
}

func (s *Server) handleTeamMembership(w http.ResponseWriter, r *http.Request) error {
	org, team, err := s.teamBySlug(r)
	if err != nil {
		return err
	}
	u, err := s.Store.UserByLogin(r.Context(), r.PathValue("username"))
	if err != nil {
		if usage.IsNotFound(err) {
			return usage.ErrNotFound
		}
		return err
	}
	ids, err := s.Copilot.Store.CopilotTeamMembers(r.Context(), team.ID)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, u.ID) {
		return usage.ErrNotFound
	}
	writeJSON(w, http.StatusOK, map[string]any{"url": apiBase(r) + "/orgs/" + org.Login + "/teams/" + team.Slug + "/memberships/" + u.Login,
		"role": "member", "state": "active"})
	return nil
}
