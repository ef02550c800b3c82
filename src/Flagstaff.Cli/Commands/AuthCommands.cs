using System.CommandLine;
using System.Text.Json.Nodes;
using Flagstaff.Cli.Infrastructure;

namespace Flagstaff.Cli.Commands;

/// <summary><c>login</c>, <c>logout</c>, <c>whoami</c>: which server and token the other commands use.</summary>
internal static class AuthCommands
{
    public static IEnumerable<Command> Create(CliHost cli)
    {
        var url = new Option<string?>("--url") { Description = "The server's address (default: FLAGSTAFF_URL)." };
        var token = new Option<string?>("--token") { Description = "A personal access token (fs_pat_...); default: FLAGSTAFF_TOKEN." };
        var tokenStdin = new Option<bool>("--token-stdin") { Description = "Read the token from standard input (keeps it out of the process list and shell history)." };
        var login = new Command("login", "Check a server and token, then save them for the other commands (in a per-user file, mode 0600).") { url, token, tokenStdin };
        cli.Action(login, async (context, parse, cancellationToken) =>
        {
            var address = parse.GetValue(url) ?? context.Environment.Variable("FLAGSTAFF_URL")
                ?? throw new CliException("give --url (or set FLAGSTAFF_URL)", ExitCodes.InvalidInput);
            var secret = parse.GetValue(tokenStdin)
                ? (await context.Environment.Input.ReadLineAsync(cancellationToken).ConfigureAwait(false))?.Trim()
                : parse.GetValue(token) ?? context.Environment.Variable("FLAGSTAFF_TOKEN");
            if (string.IsNullOrEmpty(secret))
            {
                throw new CliException("give --token, --token-stdin or FLAGSTAFF_TOKEN", ExitCodes.InvalidInput, suggestion: "create a token in the dashboard (Tokens) or with POST /api/me/tokens");
            }

            var server = Credentials.ParseUrl(address);
            using var api = new ManagementClient(server, secret, context.Environment.Handler);
            var account = (await api.GetAsync("api/me", cancellationToken).ConfigureAwait(false)).Json!;
            context.Credentials.Save(new SavedLogin(server.ToString(), secret));
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["url"] = server.ToString(), ["account"] = account.DeepClone(), ["file"] = context.Credentials.FilePath });
            }
            else
            {
                context.Say($"Logged in to {server} as {account["email"]} ({account["role"]}); saved in {context.Credentials.FilePath}.");
            }

            return ExitCodes.Success;
        });

        var logout = new Command("logout", "Forget the saved server and token.");
        cli.Action(logout, (context, _, _) =>
        {
            bool removed = context.Credentials.Delete();
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["loggedOut"] = removed });
            }
            else
            {
                context.Say(removed ? "Logged out." : "Not logged in; nothing to do.");
            }

            return Task.FromResult(ExitCodes.Success);
        });

        var whoami = new Command("whoami", "Show the server, the account the token belongs to, and where the token came from.");
        cli.Action(whoami, async (context, _, cancellationToken) =>
        {
            var (server, _, source) = context.Credentials.Resolve();
            var account = (await context.Api.GetAsync("api/me", cancellationToken).ConfigureAwait(false)).Json!;
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["url"] = server.ToString(), ["account"] = account.DeepClone(), ["source"] = source });
            }
            else
            {
                context.Say($"{account["name"]} <{account["email"]}>, {account["role"]}, on {server} (token from {source})");
            }

            return ExitCodes.Success;
        });

        return [login, logout, whoami];
    }
}
