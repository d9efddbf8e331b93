// Package billing is ghusage's enterprise billing domain: the usage
// ledger (Record, its validation and NDJSON decoding), the effective-dated
// price catalogue and plans (Catalog), exact money (Quantity, Price,
// Amount), the query parameters of the …/settings/billing/* usage
// endpoints, the pricing of stored usage rows with included quotas
// consumed in time order within each UTC calendar month, and the Store
// interface every backend implements. It imports only the standard
// library and internal/usage.
//
// Stores keep the ledger's records (for deduplication and exports) and
// sum them at ingest into rows per account, bucket (hour and UTC day),
// SKU, organization, repository, user, model and public flag; answers
// read rows, never records. Prices and discounts are computed when a
// report is asked for, so a price catalogue change applies to every past
// and future answer alike.
//
// Cost centers give their membership intervals through the Attribution
// seam (see store.go); the Service attributes each row, splitting by the
// records' times the few rows whose bucket straddles a membership change
// (attribute.go).
package billing
