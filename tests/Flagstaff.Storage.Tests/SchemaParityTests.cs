using System.Data.Common;
using System.Text.RegularExpressions;
using Dapper;
using Flagstaff.Testing;

namespace Flagstaff.Storage.Tests;

/// <summary>
/// The SQLite and PostgreSQL migration folders describe one schema: the same numbered migrations, and
/// after applying them the same tables, columns, keys, indexes and foreign keys, read back from each
/// database's catalogue (not from the scripts' text).
/// </summary>
public sealed partial class SchemaParityTests
{
    [Fact]
    public void Both_migration_folders_hold_the_same_numbered_migrations()
    {
        var sqlite = MigrationNames("Sqlite");
        var postgres = MigrationNames("Postgres");

        Assert.NotEmpty(sqlite);
        Assert.True(sqlite.SequenceEqual(postgres, StringComparer.Ordinal),
            $"The migration folders differ.\nSQLite:     {string.Join(", ", sqlite)}\nPostgreSQL: {string.Join(", ", postgres)}");
    }

    [Fact]
    public async Task Migrated_SQLite_and_PostgreSQL_databases_have_the_same_schema()
    {
        await using var sqliteDatabase = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        await using var postgresDatabase = await TestDatabase.CreateAsync(DatabaseKind.Postgres);
        var sqlite = await CatalogueAsync(sqliteDatabase, ReadSqliteAsync);
        var postgres = await CatalogueAsync(postgresDatabase, ReadPostgresAsync);

        Assert.Contains("table flags", sqlite);
        var onlySqlite = sqlite.Except(postgres, StringComparer.Ordinal).ToList();
        var onlyPostgres = postgres.Except(sqlite, StringComparer.Ordinal).ToList();
        Assert.True(onlySqlite.Count == 0 && onlyPostgres.Count == 0,
            "The migrated schemas differ.\n" +
            $"Only in SQLite ({onlySqlite.Count}):\n  {string.Join("\n  ", onlySqlite)}\n" +
            $"Only in PostgreSQL ({onlyPostgres.Count}):\n  {string.Join("\n  ", onlyPostgres)}");
    }

    private static List<string> MigrationNames(string folder)
    {
        string prefix = $"Migrations/{folder}/";
        return [.. typeof(Store).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => n[prefix.Length..^4])
            .Order(StringComparer.Ordinal)];
    }

    private static async Task<SortedSet<string>> CatalogueAsync(TestDatabase database, Func<DbConnection, SortedSet<string>, Task> read)
    {
        await using var store = await database.CreateStoreAsync();
        await using var connection = await store.Dialect.OpenAsync(CancellationToken.None);
        var lines = new SortedSet<string>(StringComparer.Ordinal);
        await read(connection, lines);
        return lines;
    }

    // The common form, one line per fact so that a difference reads as the facts one side lacks:
    //   table t
    //   column t.c <affinity> [not null] [generated] [default d]
    //   primary key t (a, b)
    //   unique t (a, b)                      a UNIQUE constraint (its name is the database's choice)
    //   [unique] index name on t (a, b) [partial]
    //   foreign key t (a) -> p (b) on delete x on update y
    // Types are compared by SQLite's affinity (integer, text, real, numeric, blob): SQLite stores no
    // width, so INTEGER and BIGINT are one type there.

    private static async Task ReadSqliteAsync(DbConnection connection, SortedSet<string> lines)
    {
        var tables = await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
        foreach (var table in tables)
        {
            lines.Add($"table {table}");
            var columns = (await connection.QueryAsync<(string Name, string Type, long NotNull, string? Default, long Pk)>(
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(@table)", new { table })).ToList();
            var key = columns.Where(c => c.Pk > 0).OrderBy(c => c.Pk).Select(c => c.Name).ToList();
            foreach (var c in columns)
            {
                // An INTEGER PRIMARY KEY is the row id: assigned by the database when not given.
                bool generated = key.Count == 1 && c.Pk == 1 && c.Type.Equals("INTEGER", StringComparison.OrdinalIgnoreCase);

                // SQLite lets a key column that is not the row id hold NULL unless declared NOT NULL;
                // PostgreSQL never does. The store never writes a null key, so both count as not null.
                lines.Add(Column(table, c.Name, SqliteAffinity(c.Type), c.NotNull != 0 || c.Pk > 0, generated, c.Default));
            }

            if (key.Count > 0)
            {
                lines.Add($"primary key {table} ({string.Join(", ", key)})");
            }

            var indexes = await connection.QueryAsync<(string Name, long Unique, string Origin, long Partial)>(
                "SELECT name, \"unique\", origin, partial FROM pragma_index_list(@table)", new { table });
            foreach (var index in indexes)
            {
                var indexColumns = await connection.QueryAsync<string?>(
                    "SELECT name FROM pragma_index_info(@name) ORDER BY seqno", new { name = index.Name });
                string list = string.Join(", ", indexColumns.Select(n => n ?? "<expression>"));
                switch (index.Origin)
                {
                    case "pk":
                        break;
                    case "u":
                        lines.Add($"unique {table} ({list})");
                        break;
                    default:
                        lines.Add(Index(index.Name, table, list, index.Unique != 0, index.Partial != 0));
                        break;
                }
            }

            var foreignKeys = await connection.QueryAsync<(long Id, long Seq, string Parent, string From, string? To, string OnDelete, string OnUpdate)>(
                "SELECT id, seq, \"table\", \"from\", \"to\", on_delete, on_update FROM pragma_foreign_key_list(@table) ORDER BY id, seq", new { table });
            foreach (var fk in foreignKeys.GroupBy(f => f.Id))
            {
                var first = fk.First();

                // REFERENCES parent without columns names the parent's primary key.
                var to = fk.All(f => f.To is not null)
                    ? fk.Select(f => f.To!)
                    : (await connection.QueryAsync<string>("SELECT name FROM pragma_table_info(@parent) WHERE pk > 0 ORDER BY pk", new { parent = first.Parent }));
                lines.Add(ForeignKey(table, fk.Select(f => f.From), first.Parent, to, first.OnDelete, first.OnUpdate));
            }
        }
    }

    private static async Task ReadPostgresAsync(DbConnection connection, SortedSet<string> lines)
    {
        foreach (var table in await connection.QueryAsync<string>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"))
        {
            lines.Add($"table {table}");
        }

        var columns = await connection.QueryAsync<(string Table, string Name, string Type, string Nullable, string? Default, string Identity)>(
            "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns WHERE table_schema = current_schema()");
        foreach (var c in columns)
        {
            bool generated = c.Identity == "YES" || (c.Default?.StartsWith("nextval(", StringComparison.Ordinal) ?? false);
            lines.Add(Column(c.Table, c.Name, PostgresAffinity(c.Type), c.Nullable == "NO", generated, generated ? null : c.Default));
        }

        var indexes = await connection.QueryAsync<(string Table, string Name, bool Unique, bool Primary, bool Partial, bool Constraint, string Columns)>(
            """
            SELECT t.relname, i.relname, x.indisunique, x.indisprimary, x.indpred IS NOT NULL,
                   EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u')),
                   (SELECT string_agg(coalesce(a.attname::text, '<expression>'), ', ' ORDER BY u.n)
                      FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS u(attnum, n)
                      LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace s ON s.oid = t.relnamespace
            WHERE s.nspname = current_schema()
            """);
        foreach (var index in indexes)
        {
            if (index.Primary)
            {
                lines.Add($"primary key {index.Table} ({index.Columns})");
            }
            else if (index.Constraint)
            {
                lines.Add($"unique {index.Table} ({index.Columns})");
            }
            else
            {
                lines.Add(Index(index.Name, index.Table, index.Columns, index.Unique, index.Partial));
            }
        }

        var foreignKeys = await connection.QueryAsync<(string Table, string Columns, string Parent, string ParentColumns, string OnDelete, string OnUpdate)>(
            """
            SELECT t.relname,
                   (SELECT string_agg(a.attname::text, ',' ORDER BY u.n) FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, n)
                      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum),
                   p.relname,
                   (SELECT string_agg(a.attname::text, ',' ORDER BY u.n) FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, n)
                      JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum),
                   k.confdeltype::text, k.confupdtype::text
            FROM pg_constraint k
            JOIN pg_class t ON t.oid = k.conrelid
            JOIN pg_class p ON p.oid = k.confrelid
            JOIN pg_namespace s ON s.oid = t.relnamespace
            WHERE k.contype = 'f' AND s.nspname = current_schema()
            """);
        foreach (var fk in foreignKeys)
        {
            lines.Add(ForeignKey(fk.Table, fk.Columns.Split(','), fk.Parent, fk.ParentColumns.Split(','), PostgresAction(fk.OnDelete), PostgresAction(fk.OnUpdate)));
        }
    }

    private static string Column(string table, string name, string affinity, bool notNull, bool generated, string? defaultValue) =>
        $"column {table}.{name} {affinity}{(notNull ? " not null" : "")}{(generated ? " generated" : "")}{(defaultValue is null ? "" : " default " + NormalizeDefault(defaultValue))}";

    private static string Index(string name, string table, string columns, bool unique, bool partial) =>
        $"{(unique ? "unique " : "")}index {name} on {table} ({columns}){(partial ? " partial" : "")}";

    private static string ForeignKey(string table, IEnumerable<string> columns, string parent, IEnumerable<string> parentColumns, string onDelete, string onUpdate) =>
        $"foreign key {table} ({string.Join(", ", columns)}) -> {parent} ({string.Join(", ", parentColumns)}) on delete {onDelete.ToLowerInvariant()} on update {onUpdate.ToLowerInvariant()}";

    // SQLite's rules for a declared type's affinity (https://www.sqlite.org/datatype3.html, 3.1).
    private static string SqliteAffinity(string declared)
    {
        string type = declared.ToUpperInvariant();
        return type.Contains("INT", StringComparison.Ordinal) ? "integer"
            : type.Contains("CHAR", StringComparison.Ordinal) || type.Contains("CLOB", StringComparison.Ordinal) || type.Contains("TEXT", StringComparison.Ordinal) ? "text"
            : type.Length == 0 || type.Contains("BLOB", StringComparison.Ordinal) ? "blob"
            : type.Contains("REAL", StringComparison.Ordinal) || type.Contains("FLOA", StringComparison.Ordinal) || type.Contains("DOUB", StringComparison.Ordinal) ? "real"
            : "numeric";
    }

    private static string PostgresAffinity(string dataType) => dataType switch
    {
        "smallint" or "integer" or "bigint" => "integer",
        "text" or "character varying" or "character" => "text",
        "real" or "double precision" => "real",
        "bytea" => "blob",
        _ => "numeric (" + dataType + ")",
    };

    private static string PostgresAction(string code) => code switch
    {
        "a" => "no action",
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "unknown (" + code + ")",
    };

    // PostgreSQL shows a default with its cast ('x'::text, (0)::bigint); SQLite shows the text written.
    private static string NormalizeDefault(string value)
    {
        string text = CastSuffix().Replace(value.Trim(), "");
        while (text.StartsWith('(') && text.EndsWith(')'))
        {
            text = text[1..^1];
        }

        return text;
    }

    [GeneratedRegex(@"::[a-z ]+$")]
    private static partial Regex CastSuffix();
}
