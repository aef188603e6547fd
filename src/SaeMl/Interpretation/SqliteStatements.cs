using System.Globalization;
using Microsoft.Data.Sqlite;

namespace SaeMl.Interpretation;

/// <summary>The few ways the atlas and the interpretation checkpoint talk to SQLite: parameters named $p0, $p1, …; NULL read as null.</summary>
internal static class SqliteStatements
{
    /// <summary>Runs statements that return nothing.</summary>
    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params object?[] parameters)
    {
        using var command = Command(connection, sql, transaction, parameters);
        command.ExecuteNonQuery();
    }

    /// <summary>The first column of the first row, or null (also for NULL).</summary>
    public static object? Scalar(SqliteConnection connection, string sql, params object?[] parameters)
    {
        using var command = Command(connection, sql, null, parameters);
        return command.ExecuteScalar() is var value and not DBNull ? value : null;
    }

    /// <summary>The rows of a query; a NULL column reads as null.</summary>
    public static List<object[]> Query(SqliteConnection connection, string sql, params object?[] parameters)
    {
        using var command = Command(connection, sql, null, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<object[]>();
        while (reader.Read())
        {
            var row = new object[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null! : reader.GetValue(i);
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>SQLite has no NaN: an undefined number is stored as NULL.</summary>
    public static double? Stored(double? value) => value is { } v && !double.IsNaN(v) ? v : null;

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction, object?[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        for (var i = 0; i < parameters.Length; i++)
            command.Parameters.AddWithValue("$p" + i.ToString(CultureInfo.InvariantCulture), parameters[i] ?? DBNull.Value);
        return command;
    }
}
