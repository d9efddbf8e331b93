// Package insights is ghusage's API insights domain: the request event,
// its validation and NDJSON decoding, the query parameters of the nine
// /orgs/{org}/insights/api endpoints, time-bucket math, in-memory
// aggregation of event batches into roll-up deltas, and the Store interface
// every backend implements. It imports only the standard library and
// internal/usage.
//
// Roll-ups are kept at four levels (minute, five minutes, hour, day). A
// query range, rounded to whole minutes, is covered by at most seven segments of those
// levels (see Segments), so every answer reads a bounded number of rows per
// group whatever the traffic volume, and is exact to the minute.
package insights
