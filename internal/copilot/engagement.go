package copilot

import "bytes"

// EngagementFeatures are the features of copilot_feature_engagement, in
// the order the file lists them. GitHub names seven (code completion,
// agent edit, passive and active code review, cloud agent, CLI, app); only
// "code_completion" is confirmed as a string, the others follow GitHub's
// feature and flag names (research note §4.11).
var EngagementFeatures = []string{"code_completion", "agent_edit", "copilot_code_review_passive",
	"copilot_code_review_active", "copilot_cloud_agent", "copilot_cli", "copilot_app"}

// What marks each feature in a stored activity line (json.Marshal's
// output of an Activity: no spaces, fields in struct order): a
// totals_by_feature entry, or a used_* flag set to true.
var engagementMarks = [][]byte{[]byte(`"feature":"code_completion"`), []byte(`"feature":"agent_edit"`),
	[]byte(`"used_copilot_code_review_passive":true`), []byte(`"used_copilot_code_review_active":true`),
	[]byte(`"used_copilot_cloud_agent":true`), []byte(`"used_cli":true`), []byte(`"used_copilot_app":true`)}

var (
	featuresKey = []byte(`"totals_by_feature":[`)
	phaseKey    = []byte(`"ai_adoption_phase":`)
)

// userEngagement counts one user's active days in a window, overall and
// per engagement feature, saturating at 2 (engaged means active on at
// least 2 of the 28 days).
type userEngagement struct {
	days     uint8
	features [7]uint8
	scopes   []Scope
}

// addDay counts one stored line (one day) of the user.
func (u *userEngagement) addDay(line []byte) {
	u.days = min(u.days+1, 2)
	// The used_* flags precede ai_adoption_phase; totals_by_feature is
	// one array after it.
	flags := line
	if i := bytes.Index(line, phaseKey); i >= 0 {
		flags = line[:i]
	}
	var feats []byte
	if i := bytes.Index(line, featuresKey); i >= 0 {
		feats = line[i:]
		if j := bytes.IndexByte(feats, ']'); j >= 0 {
			feats = feats[:j]
		}
	}
	for f, mark := range engagementMarks {
		in := flags
		if f < 2 {
			in = feats
		}
		if bytes.Contains(in, mark) {
			u.features[f] = min(u.features[f]+1, 2)
		}
	}
}

// FeatureEngagement is a 28-day aggregate's copilot_feature_engagement:
// the users active on at least 2 of the window's days, and per feature
// the users who used it on at least 2 days (a user may count under
// several features).
type FeatureEngagement struct {
	ActiveUserCount int64                 `json:"active_user_count"`
	TotalsByFeature []FeatureEngagedUsers `json:"totals_by_feature"`
}

// FeatureEngagedUsers is an element of copilot_feature_engagement.totals_by_feature.
type FeatureEngagedUsers struct {
	Feature          string `json:"feature"`
	EngagedUserCount int64  `json:"engaged_user_count"`
}

func newFeatureEngagement() *FeatureEngagement {
	fe := &FeatureEngagement{}
	for _, f := range EngagementFeatures {
		fe.TotalsByFeature = append(fe.TotalsByFeature, FeatureEngagedUsers{Feature: f})
	}
	return fe
}

func (fe *FeatureEngagement) add(u *userEngagement) {
	if u.days >= 2 {
		fe.ActiveUserCount++
	}
	for f, n := range u.features {
		if n >= 2 {
			fe.TotalsByFeature[f].EngagedUserCount++
		}
	}
}
