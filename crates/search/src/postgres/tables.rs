//! The tables of one generation of the PostgreSQL search index, and the
//! statements that read and write them.
//!
//! Guarantees: table names are made from the generation number alone, never
//! from input, so the statements are as safe as constant SQL; generation 0
//! is the tables the first migration made (`search_orders`,
//! `search_checkpoints`), generation `n` is `search_orders_g<n>` and
//! `search_checkpoints_g<n>`. Each generation's statements have their own
//! text, so a prepared statement never outlives the table it was made for.

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

/// One generation's table names and statements.
#[derive(Debug)]
pub(super) struct Tables {
    pub(super) generation: u64,
    pub(super) orders: String,
    pub(super) checkpoints: String,
    pub(super) upsert: SqlStr,
    pub(super) save_checkpoint: SqlStr,
    pub(super) get_many: SqlStr,
    pub(super) load_checkpoint: SqlStr,
    pub(super) clear: SqlStr,
}

fn sql(text: String) -> SqlStr {
    AssertSqlSafe(text).into_sql_str()
}

impl Tables {
    pub(super) fn of(generation: u64) -> Tables {
        let (orders, checkpoints) = match generation {
            0 => ("search_orders".to_owned(), "search_checkpoints".to_owned()),
            n => (
                format!("search_orders_g{n}"),
                format!("search_checkpoints_g{n}"),
            ),
        };
        let upsert = sql(format!(
            "\
INSERT INTO {orders} AS stored
    (id, buyer_id, status, created_at, revision, search_vector, document)
SELECT id, buyer_id, status, created_at, revision,
       array_to_tsvector(string_to_array(keywords, ' ')), document::jsonb
FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::int8[], $6::text[],
            $7::text[])
     AS incoming(id, buyer_id, status, created_at, revision, keywords, document)
ON CONFLICT (id) DO UPDATE SET
    buyer_id = EXCLUDED.buyer_id,
    status = EXCLUDED.status,
    created_at = EXCLUDED.created_at,
    revision = EXCLUDED.revision,
    search_vector = EXCLUDED.search_vector,
    document = EXCLUDED.document
WHERE stored.revision < EXCLUDED.revision"
        ));
        let save_checkpoint = sql(format!(
            "\
INSERT INTO {checkpoints} AS stored (projection, position) VALUES ($1, $2)
ON CONFLICT (projection) DO UPDATE SET position = GREATEST(stored.position, EXCLUDED.position)"
        ));
        let get_many = sql(format!(
            "SELECT document::text FROM {orders} WHERE id = ANY($1)"
        ));
        let load_checkpoint = sql(format!(
            "SELECT position FROM {checkpoints} WHERE projection = $1"
        ));
        let clear = sql(format!("TRUNCATE {orders}, {checkpoints}"));
        Tables {
            generation,
            orders,
            checkpoints,
            upsert,
            save_checkpoint,
            get_many,
            load_checkpoint,
            clear,
        }
    }

    /// Creates this generation's (empty) tables like generation 0's, with
    /// the same indexes.
    pub(super) fn create(&self) -> [SqlStr; 2] {
        [
            sql(format!(
                "CREATE TABLE IF NOT EXISTS {} (LIKE search_orders INCLUDING ALL)",
                self.orders
            )),
            sql(format!(
                "CREATE TABLE IF NOT EXISTS {} (LIKE search_checkpoints INCLUDING ALL)",
                self.checkpoints
            )),
        ]
    }

    /// Removes this generation: generation 0 is emptied (it is the
    /// template of the others), any other is dropped.
    pub(super) fn remove(&self) -> SqlStr {
        match self.generation {
            0 => self.clear.clone(),
            _ => sql(format!(
                "DROP TABLE IF EXISTS {}, {}",
                self.orders, self.checkpoints
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_zero_is_the_first_migrations_tables() {
        let tables = Tables::of(0);
        assert_eq!(tables.orders, "search_orders");
        assert_eq!(tables.checkpoints, "search_checkpoints");
        assert!(tables.remove().as_str().starts_with("TRUNCATE"));
    }

    #[test]
    fn later_generations_have_numbered_tables_that_are_dropped() {
        let tables = Tables::of(7);
        assert_eq!(tables.orders, "search_orders_g7");
        assert!(
            tables
                .upsert
                .as_str()
                .contains("INTO search_orders_g7 AS stored")
        );
        assert_eq!(
            tables.remove().as_str(),
            "DROP TABLE IF EXISTS search_orders_g7, search_checkpoints_g7"
        );
    }
}
