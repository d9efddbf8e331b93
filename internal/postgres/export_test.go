package postgres

// SetLegacyFold makes db write insights as builds before migration 0024
// did: minutes of actors and users in lvlMinuteDetail rows, none in their
// hour rows.
func SetLegacyFold(db *DB, on bool) { db.legacyFold = on }
