using Flagstaff.Dashboard.Model;
using Flagstaff.Domain;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.JSInterop;

namespace Flagstaff.Dashboard.Components;

/// <summary>The render mode of the dashboard's interactive pages.</summary>
public static class Modes
{
    /// <summary>
    /// Interactive server rendering without prerendering: a page appears once it is live, so nothing
    /// shown can be clicked before it works.
    /// </summary>
    public static IComponentRenderMode Interactive { get; } = new InteractiveServerRenderMode(prerender: false);
}

/// <summary>
/// The base of the interactive pages: who is signed in and with which role, and one way to make a
/// change (check the role, call the service, show the problem if it is refused).
/// </summary>
public abstract class DashboardPage : ComponentBase, INoticeHolder
{
    /// <summary>The signed-in member's session.</summary>
    [Inject]
    protected DashboardSession Session { get; set; } = default!;

    /// <summary>Navigation.</summary>
    [Inject]
    protected NavigationManager Navigation { get; set; } = default!;

    /// <summary>The server's clock.</summary>
    [Inject]
    protected TimeProvider Clock { get; set; } = default!;

    [Inject]
    private IJSRuntime Scripts { get; set; } = default!;

    [Inject]
    private PageNotices Notices { get; set; } = default!;

    // Set when a change is refused with errors on named fields: once the page shows them, the focus
    // goes to the first, so that a keyboard user starts on what to fix.
    private bool _focusFirstInvalid;

    /// <summary>The signed-in member, as stored when the page loaded.</summary>
    protected Account? Me { get; private set; }

    /// <summary>Whether the member may change flags, targeting, segments and properties.</summary>
    protected bool CanEdit => Me?.Role >= Role.Editor;

    /// <summary>Whether the member may manage projects, environments, keys and members.</summary>
    protected bool IsAdmin => Me?.Role >= Role.Admin;

    /// <summary>The problem with the last change, if it was refused.</summary>
    protected ProblemInfo? Problem { get; set; }

    /// <summary>A short confirmation of the last change.</summary>
    protected string? Done { get; set; }

    /// <summary>Whether the page has loaded.</summary>
    protected bool Loaded { get; private set; }

    /// <summary>The problem that stopped the page from loading (such as a project that does not exist).</summary>
    protected ProblemInfo? LoadProblem { get; private set; }

    /// <inheritdoc />
    protected override async Task OnInitializedAsync()
    {
        Notices.Add(this);
        Me = await Session.MemberAsync();
        await ReloadAsync();
    }

    /// <summary>Loads the page's data, showing a problem instead of failing.</summary>
    protected async Task ReloadAsync()
    {
        try
        {
            await LoadAsync();
            LoadProblem = null;
        }
        catch (Exception e) when (ProblemInfo.From(e) is { } problem)
        {
            LoadProblem = problem;
        }

        Loaded = true;
    }

    /// <summary>Reads what the page shows.</summary>
    protected virtual Task LoadAsync() => Task.CompletedTask;

    /// <summary>
    /// Makes a change as the signed-in member after checking they hold <paramref name="role"/>; on
    /// success shows <paramref name="done"/>, on refusal the problem. Returns whether it succeeded.
    /// </summary>
    protected async Task<bool> ChangeAsync(Role role, Func<Actor, Role, Task> change, string? done = null)
    {
        ArgumentNullException.ThrowIfNull(change);
        Problem = null;
        Done = null;
        Notices.Changing(this);
        try
        {
            var (actor, actorRole) = await Session.ActAsync(role);
            await change(actor, actorRole);
            Done = done;
            return true;
        }
        catch (Exception e) when (ProblemInfo.From(e) is { } problem)
        {
            Problem = problem;
            _focusFirstInvalid = problem.Errors.Count > 0;
            return false;
        }
    }

    /// <inheritdoc />
    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (_focusFirstInvalid)
        {
            _focusFirstInvalid = false;
            await Scripts.InvokeVoidAsync("flagstaff.focusFirstInvalid");
        }
    }

    /// <summary>Makes a change that needs no role beyond <paramref name="role"/>'s actor.</summary>
    protected Task<bool> ChangeAsync(Role role, Func<Actor, Task> change, string? done = null) =>
        ChangeAsync(role, (actor, _) => change(actor), done);

    /// <inheritdoc />
    public void ClearNotice()
    {
        if (Problem is null && Done is null)
        {
            return;
        }

        Problem = null;
        Done = null;
        _ = InvokeAsync(StateHasChanged);
    }

    /// <summary>How long ago, from the server's clock.</summary>
    protected string Ago(DateTimeOffset at) => Labels.Ago(at, Clock.GetUtcNow());
}
