// Package copilot is the Copilot usage metrics domain: per-user daily
// Copilot activity (ingested in the shape of a users-1-day report line),
// the "Copilot usage metrics" policy, Copilot seats, and the report files
// GitHub's twelve copilot/metrics/reports routes link to (daily and 28-day
// aggregates, users, user-teams and repositories), built by a job from the
// ingested activity and kept in a FileStore.
//
// Activity is keyed by user and UTC day: ingesting a line for a user and
// day replaces the one stored before, and marks the day for rebuilding.
// A user's activity counts towards every organization the user is a member
// of and towards the enterprises of those organizations (and those the user
// is a member of directly); enterprise reports count each user once.
//
// The package imports only the standard library and package usage;
// adapters (sqlite, postgres) implement Store, and httpapi serves the routes.
package copilot
