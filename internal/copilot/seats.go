package copilot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// PlanBusiness is the plan of every seat ghusage assigns.
const PlanBusiness = "business"

// SeatView is a seat with the accounts it names and the holder's last activity.
type SeatView struct {
	Seat
	User *usage.User
	Org  *usage.Organization // nil for a seat assigned at the enterprise
	Team *usage.Team         // nil when assigned directly
	Last *LastActivity
}

// CycleStart is the start of the billing cycle holding t: the first of its
// month, UTC. Cancelled seats end at the next cycle's start.
func CycleStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func (s *Service) nextCycle() Day { return DayOf(CycleStart(s.Now()).AddDate(0, 1, 0)) }

func invalidNames(resource, field string, names []string, why string) *usage.Error {
	e := &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed"}
	for _, n := range names {
		e.Fields = append(e.Fields, usage.FieldError{Resource: resource, Field: field, Code: "invalid", Message: fmt.Sprintf("%s %s", n, why)})
	}
	return e
}

// members resolves logins to users who are members of org (or, with org
// nil, of enterprise ent directly or through one of its organizations);
// any other name is a 422 listing them all.
func (s *Service) members(ctx context.Context, ent *usage.Enterprise, org *usage.Organization, logins []string) ([]*usage.User, error) {
	if len(logins) == 0 {
		return nil, usage.Invalid("CopilotSeat", "selected_usernames", "at least one username is required")
	}
	var orgLogins map[string]bool
	if org == nil {
		orgs, err := s.Accounts.ListOrganizations(ctx, ent.ID)
		if err != nil {
			return nil, err
		}
		orgLogins = map[string]bool{}
		for _, o := range orgs {
			orgLogins[strings.ToLower(o.Login)] = true
		}
	}
	var users []*usage.User
	var bad []string
	for _, l := range logins {
		u, err := s.Accounts.UserByLogin(ctx, l)
		if err != nil && !usage.IsNotFound(err) {
			return nil, err
		}
		ok := false
		if u != nil {
			orgs, ents, err := s.Accounts.Roles(ctx, u.ID)
			if err != nil {
				return nil, err
			}
			if org != nil {
				ok = orgs[strings.ToLower(org.Login)] != ""
			} else {
				ok = ents[strings.ToLower(ent.Slug)] != ""
				for o := range orgs {
					ok = ok || orgLogins[o]
				}
			}
		}
		if !ok {
			bad = append(bad, l)
			continue
		}
		if !slices.ContainsFunc(users, func(x *usage.User) bool { return x.ID == u.ID }) {
			users = append(users, u)
		}
	}
	if len(bad) > 0 {
		where := "the organization"
		if org == nil {
			where = "the enterprise"
		}
		return nil, invalidNames("CopilotSeat", "selected_usernames", bad, "is not a member of "+where)
	}
	return users, nil
}

func (s *Service) teams(ctx context.Context, org *usage.Organization, slugs []string) ([]*usage.Team, error) {
	if len(slugs) == 0 {
		return nil, usage.Invalid("CopilotSeat", "selected_teams", "at least one team is required")
	}
	all, err := s.Accounts.ListTeams(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	var out []*usage.Team
	var bad []string
	for _, sl := range slugs {
		i := slices.IndexFunc(all, func(t *usage.Team) bool { return strings.EqualFold(t.Slug, sl) || strings.EqualFold(t.Name, sl) })
		if i < 0 {
			bad = append(bad, sl)
			continue
		}
		out = append(out, all[i])
	}
	if len(bad) > 0 {
		return nil, invalidNames("CopilotSeat", "selected_teams", bad, "is not a team of the organization")
	}
	return out, nil
}

func orgIDs(ent *usage.Enterprise, org *usage.Organization) (int64, int64) {
	if org != nil {
		return org.EnterpriseID, org.ID
	}
	return ent.ID, 0
}

// AddUsers gives users a seat in org (or, with org nil, at enterprise ent)
// and returns how many seats were created or revived.
func (s *Service) AddUsers(ctx context.Context, ent *usage.Enterprise, org *usage.Organization, logins []string) (int, error) {
	users, err := s.members(ctx, ent, org, logins)
	if err != nil {
		return 0, err
	}
	e, o := orgIDs(ent, org)
	now := s.Now().UTC()
	var seats []Seat
	for _, u := range users {
		seats = append(seats, Seat{EnterpriseID: e, OrgID: o, UserID: u.ID, CreatedAt: now, UpdatedAt: now, PlanType: PlanBusiness})
	}
	return s.Store.CopilotAddSeats(ctx, seats)
}

// CancelUsers sets users' directly assigned seats to end with the billing
// cycle; a user whose only seat comes through a team is a 422.
func (s *Service) CancelUsers(ctx context.Context, ent *usage.Enterprise, org *usage.Organization, logins []string) (int, error) {
	users, err := s.members(ctx, ent, org, logins)
	if err != nil {
		return 0, err
	}
	e, o := orgIDs(ent, org)
	seats, err := s.Store.CopilotSeats(ctx, e, o, s.Today())
	if err != nil {
		return 0, err
	}
	var ids []int64
	var viaTeam []string
	for _, u := range users {
		i := slices.IndexFunc(seats, func(st Seat) bool { return st.UserID == u.ID && st.OrgID == o })
		if i >= 0 && seats[i].AssigningTeamID != 0 {
			viaTeam = append(viaTeam, u.Login)
		}
		ids = append(ids, u.ID)
	}
	if len(viaTeam) > 0 {
		return 0, invalidNames("CopilotSeat", "selected_usernames", viaTeam, "has a seat through a team; cancel the team's seats instead")
	}
	return s.Store.CopilotCancelSeats(ctx, e, o, ids, 0, s.nextCycle())
}

// AddTeams gives every member of the teams a seat assigned through the team.
func (s *Service) AddTeams(ctx context.Context, org *usage.Organization, slugs []string) (int, error) {
	teams, err := s.teams(ctx, org, slugs)
	if err != nil {
		return 0, err
	}
	now := s.Now().UTC()
	var seats []Seat
	for _, t := range teams {
		members, err := s.Store.CopilotTeamMembers(ctx, t.ID)
		if err != nil {
			return 0, err
		}
		for _, m := range members {
			seats = append(seats, Seat{EnterpriseID: org.EnterpriseID, OrgID: org.ID, UserID: m, AssigningTeamID: t.ID, CreatedAt: now, UpdatedAt: now, PlanType: PlanBusiness})
		}
	}
	return s.Store.CopilotAddSeats(ctx, seats)
}

// CancelTeams sets the seats assigned through the teams to end with the cycle.
func (s *Service) CancelTeams(ctx context.Context, org *usage.Organization, slugs []string) (int, error) {
	teams, err := s.teams(ctx, org, slugs)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range teams {
		members, err := s.Store.CopilotTeamMembers(ctx, t.ID)
		if err != nil {
			return 0, err
		}
		k, err := s.Store.CopilotCancelSeats(ctx, org.EnterpriseID, org.ID, members, t.ID, s.nextCycle())
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// ErrNoEnterpriseTeam is the 422 for enterprise teams, which ghusage does not keep.
func ErrNoEnterpriseTeam(names []string) error {
	return invalidNames("CopilotSeat", "selected_enterprise_teams", names, "is not an enterprise team (ghusage keeps organization teams only)")
}

// Seats lists the live seats of org (or, with org nil, of enterprise ent
// and its organizations) with their accounts and last activity, by user.
func (s *Service) Seats(ctx context.Context, ent *usage.Enterprise, org *usage.Organization) ([]SeatView, error) {
	e, o := orgIDs(ent, org)
	if org != nil && org.EnterpriseID == 0 {
		e = 0
	}
	seats, err := s.Store.CopilotSeats(ctx, e, o, s.Today())
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, st := range seats {
		ids = append(ids, st.UserID)
	}
	last, err := s.Store.CopilotLastActivity(ctx, ids)
	if err != nil {
		return nil, err
	}
	orgs := map[int64]*usage.Organization{}
	teams := map[int64]*usage.Team{}
	out := make([]SeatView, 0, len(seats))
	for _, st := range seats {
		v := SeatView{Seat: st}
		if v.User, err = s.Accounts.UserByID(ctx, st.UserID); err != nil {
			if usage.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		if st.OrgID != 0 {
			if orgs[st.OrgID] == nil {
				all, err := s.Accounts.ListOrganizations(ctx, 0)
				if err != nil {
					return nil, err
				}
				for _, x := range all {
					orgs[x.ID] = x
				}
			}
			v.Org = orgs[st.OrgID]
			if st.AssigningTeamID != 0 {
				if teams[st.AssigningTeamID] == nil && v.Org != nil {
					ts, err := s.Accounts.ListTeams(ctx, v.Org.ID)
					if err != nil {
						return nil, err
					}
					for _, t := range ts {
						teams[t.ID] = t
					}
				}
				v.Team = teams[st.AssigningTeamID]
			}
		}
		if l, ok := last[st.UserID]; ok {
			v.Last = &l
		}
		out = append(out, v)
	}
	return out, nil
}

// SeatBreakdown is an organization's seat_breakdown.
type SeatBreakdown struct {
	Total               int `json:"total"`
	AddedThisCycle      int `json:"added_this_cycle"`
	PendingCancellation int `json:"pending_cancellation"`
	PendingInvitation   int `json:"pending_invitation"`
	ActiveThisCycle     int `json:"active_this_cycle"`
	InactiveThisCycle   int `json:"inactive_this_cycle"`
}

// Breakdown counts an organization's seats for the current billing cycle:
// active means Copilot activity since the cycle started.
func Breakdown(seats []SeatView, now time.Time) SeatBreakdown {
	var b SeatBreakdown
	cycle := CycleStart(now)
	for _, st := range seats {
		b.Total++
		if !st.CreatedAt.Before(cycle) {
			b.AddedThisCycle++
		}
		if st.PendingCancellation != 0 {
			b.PendingCancellation++
		}
		if st.Last != nil && !st.Last.At.Before(cycle) {
			b.ActiveThisCycle++
		}
	}
	b.InactiveThisCycle = b.Total - b.ActiveThisCycle
	return b
}
