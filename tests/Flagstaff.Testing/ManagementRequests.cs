using System.Net;
using System.Text.Json.Nodes;

namespace Flagstaff.Testing;

/// <summary>The management calls most tests start with, through an admin's client.</summary>
public static class ManagementRequests
{
    /// <summary>Creates a project named after <paramref name="key"/> (default environments unless <paramref name="environments"/> are given).</summary>
    public static async Task CreateProjectAsync(this HttpClient admin, string key, JsonNode? environments = null)
    {
        var body = new JsonObject { ["key"] = key, ["name"] = "Project " + key };
        if (environments is not null)
        {
            body["environments"] = environments;
        }

        await (await admin.PostJsonAsync("api/projects", body)).ReadJsonAsync(HttpStatusCode.Created);
    }

    /// <summary>Creates a flag named after <paramref name="key"/>, with the fields of <paramref name="extra"/>, and returns the answer.</summary>
    public static async Task<JsonNode> CreateFlagAsync(this HttpClient admin, string project, string key, JsonObject? extra = null)
    {
        var body = new JsonObject { ["key"] = key, ["name"] = "Flag " + key };
        foreach (var (name, value) in extra ?? [])
        {
            body[name] = value?.DeepClone();
        }

        return await (await admin.PostJsonAsync($"api/projects/{project}/flags", body)).ReadJsonAsync(HttpStatusCode.Created);
    }
}
