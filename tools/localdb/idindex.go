package main

// FerretDB 1.24's SQLite backend finds, updates and deletes a document by _id with
// `WHERE _ferretdb_sjson->'$._id' = ?`, while the _id index it creates for each collection is on
// `_ferretdb_sjson->"_id"`. SQLite uses an index on an expression only for that expression as
// written, so every one of those statements scans its whole table: measured through the wire
// protocol, an updateOne by _id that changes the document cost 2.6 ms at 100 messages,
// 8.6 ms at 1,000 and 28 ms at 4,000, and the scan grows on (a findOne by _id looks flat only
// when its document sits near the start of the table, where the scan stops). The fix belongs in
// FerretDB; until then this server adds, beside each collection's table, an index on exactly
// the expression those statements use, and `EXPLAIN QUERY PLAN` shows SQLite searching it.
//
// FerretDB knows nothing of these indexes: they are not listed by listIndexes, and dropping a
// collection (DROP TABLE) or a database (its file) drops them too.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses, registered as "sqlite"
)

const (
	// idLookupIndexSuffix names the added index after the table it serves.
	idLookupIndexSuffix = "_palaver_id_lookup"
	// idLookupScanEvery is how soon a new collection gets its index.
	idLookupScanEvery = time.Second
	// sqliteBusyTimeoutMs is how long a statement waits for FerretDB's own writes (FerretDB
	// waits as long for ours).
	sqliteBusyTimeoutMs = 10_000
)

// keepIDLookupIndexes adds the index to every collection of every database in dir, now and
// then every idLookupScanEvery, until ctx ends.
func keepIDLookupIndexes(ctx context.Context, dir string, logger *slog.Logger) {
	ticker := time.NewTicker(idLookupScanEvery)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			if err := indexDatabase(ctx, file); err != nil && ctx.Err() == nil {
				logger.Debug("adding _id lookup indexes failed; trying again", "file", file, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// indexDatabase opens one database file (never creating one: a dropped database stays gone)
// and adds the missing indexes.
func indexDatabase(ctx context.Context, file string) error {
	uri := fmt.Sprintf("file:%s?mode=rw&_pragma=busy_timeout(%d)", file, sqliteBusyTimeoutMs)
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return err
	}
	defer db.Close()

	tables, err := strings1(ctx, db, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return err
	}
	existing, err := strings1(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(existing))
	for _, name := range existing {
		have[name] = true
	}
	for _, table := range tables {
		name := table + idLookupIndexSuffix
		if have[name] {
			continue
		}
		// IF NOT EXISTS: another process (a second server on the same folder) may have won.
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, name, table)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// strings1 runs a query whose rows hold one string each.
func strings1(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
