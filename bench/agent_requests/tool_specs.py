"""The tools of the everyday-agent-requests set, written from each service's public API documentation.

Each domain is written in the format its real catalog ships in (MCP servers: ``inputSchema``;
OpenAI function calling: ``{"type": "function", "function": {...}}``; Anthropic tool use:
``input_schema``); e-mail and time/weather are mixed. Names, parameters and descriptions follow
the documentation named in ``SOURCES`` (paraphrased, not invented). ``build.py`` writes them to
``corpus.jsonl`` with the id ``<domain>.<name>``.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def s(description: str, type_: str = "string", **extra: Any) -> Schema:
    """One parameter: its JSON Schema type, description and any extra keywords (enum, items...)."""
    return {"type": type_, "description": description, **extra}


def obj(props: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    out: Schema = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


def mcp(name: str, description: str, props: dict[str, Schema], required: tuple[str, ...] = (),
        read_only: bool | None = None, title: str = "") -> Schema:
    tool: Schema = {"name": name, "description": description, "inputSchema": obj(props, required)}
    if read_only is not None:
        tool["annotations"] = {"title": title or name.replace("_", " ").capitalize(), "readOnlyHint": read_only}
    return tool


def openai(name: str, description: str, props: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": obj(props, required)}}


def anthropic(name: str, description: str, props: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    return {"name": name, "description": description, "input_schema": obj(props, required)}


OWNER = s("Repository owner (user or organization)")
REPO = s("Repository name")
PR_NUMBER = s("Pull request number", "number")
ISSUE_NUMBER = s("The number of the issue", "number")

GITHUB = [
    mcp("create_pull_request", "Create a new pull request in a GitHub repository.", {
        "owner": OWNER, "repo": REPO, "title": s("PR title"), "body": s("PR description"),
        "head": s("Branch containing changes"), "base": s("Branch to merge into"),
        "draft": s("Create as draft PR", "boolean"),
        "maintainer_can_modify": s("Allow maintainer edits", "boolean"),
    }, ("owner", "repo", "title", "head", "base"), read_only=False, title="Open new pull request"),
    mcp("update_pull_request", "Update an existing pull request in a GitHub repository: its title, body, "
        "state, base branch or draft status, and the reviewers requested for it.", {
        "owner": OWNER, "repo": REPO, "pullNumber": s("Pull request number to update", "number"),
        "title": s("New title"), "body": s("New description"),
        "state": s("New state", enum=["open", "closed"]), "base": s("New base branch name"),
        "draft": s("Mark pull request as draft (true) or ready for review (false)", "boolean"),
        "reviewers": s("GitHub usernames to request reviews from", "array", items={"type": "string"}),
    }, ("owner", "repo", "pullNumber"), read_only=False, title="Edit pull request"),
    mcp("merge_pull_request", "Merge a pull request in a GitHub repository.", {
        "owner": OWNER, "repo": REPO, "pullNumber": PR_NUMBER,
        "commit_title": s("Title for merge commit"), "commit_message": s("Extra detail for merge commit"),
        "merge_method": s("Merge method", enum=["merge", "squash", "rebase"]),
    }, ("owner", "repo", "pullNumber"), read_only=False, title="Merge pull request"),
    mcp("get_pull_request", "Get details of a specific pull request in a GitHub repository.", {
        "owner": OWNER, "repo": REPO, "pullNumber": PR_NUMBER,
    }, ("owner", "repo", "pullNumber"), read_only=True, title="Get pull request details"),
    mcp("list_pull_requests", "List pull requests in a GitHub repository. If the user specifies an author, "
        "then DO NOT use this tool and use the search_pull_requests tool instead.", {
        "owner": OWNER, "repo": REPO, "state": s("Filter by state", enum=["open", "closed", "all"]),
        "head": s("Filter by head user/org and branch"), "base": s("Filter by base branch"),
        "sort": s("Sort by", enum=["created", "updated", "popularity", "long-running"]),
        "direction": s("Sort direction", enum=["asc", "desc"]),
    }, ("owner", "repo"), read_only=True, title="List pull requests"),
    mcp("create_pull_request_review", "Create a review on a pull request: approve it, request changes, "
        "or leave a review comment.", {
        "owner": OWNER, "repo": REPO, "pullNumber": PR_NUMBER, "body": s("Review comment text"),
        "event": s("Review action to perform", enum=["APPROVE", "REQUEST_CHANGES", "COMMENT"]),
        "commitID": s("SHA of commit to review"),
    }, ("owner", "repo", "pullNumber", "event"), read_only=False, title="Submit pull request review"),
    mcp("create_issue", "Create a new issue in a GitHub repository.", {
        "owner": OWNER, "repo": REPO, "title": s("Issue title"), "body": s("Issue body content"),
        "assignees": s("Usernames to assign to this issue", "array", items={"type": "string"}),
        "labels": s("Labels to apply to this issue", "array", items={"type": "string"}),
        "milestone": s("Milestone number", "number"),
    }, ("owner", "repo", "title"), read_only=False, title="Open new issue"),
    mcp("get_issue", "Get details of a specific issue in a GitHub repository.", {
        "owner": OWNER, "repo": REPO, "issue_number": ISSUE_NUMBER,
    }, ("owner", "repo", "issue_number"), read_only=True, title="Get issue details"),
    mcp("search_issues", "Search for issues in GitHub repositories using issues search syntax already "
        "scoped to is:issue.", {
        "query": s("Search query using GitHub issues search syntax"),
        "owner": s("Optional repository owner. If provided with repo, only issues for this repository are listed."),
        "repo": s("Optional repository name. If provided with owner, only issues for this repository are listed."),
        "sort": s("Sort field by number of matches of categories, defaults to best match",
                  enum=["comments", "reactions", "created", "updated"]),
        "order": s("Sort order", enum=["asc", "desc"]),
    }, ("query",), read_only=True, title="Search issues"),
    mcp("add_issue_comment", "Add a comment to a specific issue in a GitHub repository. Use this tool to add "
        "comments to pull requests as well (in this case pass pull request number as issue_number).", {
        "owner": OWNER, "repo": REPO, "issue_number": s("Issue number to comment on", "number"),
        "body": s("Comment content"),
    }, ("owner", "repo", "issue_number", "body"), read_only=False, title="Add comment to issue"),
    mcp("create_branch", "Create a new branch in a GitHub repository.", {
        "owner": OWNER, "repo": REPO, "branch": s("Name for new branch"),
        "from_branch": s("Source branch (defaults to repo default)"),
    }, ("owner", "repo", "branch"), read_only=False, title="Create branch"),
    mcp("list_commits", "Get list of commits of a branch in a GitHub repository.", {
        "owner": OWNER, "repo": REPO, "sha": s("Commit SHA, branch or tag name to list commits of."),
        "author": s("Author username or email address to filter commits by"),
    }, ("owner", "repo"), read_only=True, title="List commits"),
    mcp("get_file_contents", "Get the contents of a file or directory from a GitHub repository.", {
        "owner": OWNER, "repo": REPO, "path": s("Path to file/directory"),
        "ref": s("Accepts optional git refs such as refs/tags/{tag}, refs/heads/{branch} or refs/pull/{pr_number}/head"),
    }, ("owner", "repo"), read_only=True, title="Get file or directory contents"),
    mcp("create_or_update_file", "Create or update a single file in a GitHub repository. If updating, you "
        "must provide the SHA of the file you want to update.", {
        "owner": OWNER, "repo": REPO, "path": s("Path where to create/update the file"),
        "content": s("Content of the file"), "message": s("Commit message"),
        "branch": s("Branch to create/update the file in"),
        "sha": s("Required if updating an existing file. The blob SHA of the file being replaced."),
    }, ("owner", "repo", "path", "content", "message", "branch"), read_only=False, title="Create or update file"),
    mcp("create_release", "Create a release for a repository from a tag, with release notes; the tag is "
        "created from target_commitish when it does not exist yet.", {
        "owner": OWNER, "repo": REPO, "tag_name": s("The name of the tag."),
        "target_commitish": s("Specifies the commitish value that determines where the Git tag is created "
                              "from. Can be any branch or commit SHA. Unused if the Git tag already exists."),
        "name": s("The name of the release."), "body": s("Text describing the contents of the tag."),
        "draft": s("true to create a draft (unpublished) release, false to create a published one.", "boolean"),
        "prerelease": s("true to identify the release as a prerelease.", "boolean"),
        "generate_release_notes": s("Whether to automatically generate the name and body for this release.",
                                    "boolean"),
    }, ("owner", "repo", "tag_name"), read_only=False, title="Create a release"),
    mcp("create_tag", "Create a Git tag reference (refs/tags/NAME) in a repository pointing at a commit SHA.", {
        "owner": OWNER, "repo": REPO, "tag": s("The tag name, e.g. v1.4.0"),
        "sha": s("The SHA1 value of the commit the tag points to"),
        "message": s("The tag message, for an annotated tag"),
    }, ("owner", "repo", "tag", "sha"), read_only=False, title="Create tag"),
    mcp("get_latest_release", "Get the latest release in a GitHub repository.", {
        "owner": OWNER, "repo": REPO,
    }, ("owner", "repo"), read_only=True, title="Get latest release"),
    mcp("run_workflow", "Run an Actions workflow by workflow ID or filename.", {
        "owner": OWNER, "repo": REPO,
        "workflow_id": s("The workflow ID (numeric) or workflow file name (e.g., main.yml, ci.yaml)"),
        "ref": s("The git reference for the workflow. The reference can be a branch or tag name."),
        "inputs": s("Inputs the workflow accepts", "object"),
    }, ("owner", "repo", "workflow_id", "ref"), read_only=False, title="Run workflow"),
    mcp("list_workflow_runs", "List workflow runs for a specific workflow.", {
        "owner": OWNER, "repo": REPO, "workflow_id": s("The workflow ID or workflow file name"),
        "branch": s("Returns workflow runs associated with a branch."),
        "status": s("Returns workflow runs with the check run status",
                    enum=["queued", "in_progress", "completed", "failure", "success"]),
    }, ("owner", "repo", "workflow_id"), read_only=True, title="List workflow runs"),
    mcp("search_code", "Fast and precise code search across ALL GitHub repositories using GitHub's native "
        "search engine. Best for finding exact symbols, functions, classes, or specific code patterns.", {
        "query": s("Search query using GitHub's powerful code search syntax, e.g. 'content:Skill language:Java "
                   "org:github'"),
        "sort": s("Sort field ('indexed' only)"), "order": s("Sort order for results", enum=["asc", "desc"]),
    }, ("query",), read_only=True, title="Search code"),
]

CHANNEL_ID = s("The ID of the channel")

SLACK = [
    openai("slack_list_channels", "List public channels in the workspace with pagination", {
        "limit": s("Maximum number of channels to return (default 100, max 200)", "number"),
        "cursor": s("Pagination cursor for next page of results"),
    }),
    openai("slack_post_message", "Post a new message to a Slack channel", {
        "channel_id": s("The ID of the channel to post to"), "text": s("The message text to post"),
    }, ("channel_id", "text")),
    openai("slack_reply_to_thread", "Reply to a specific message thread in Slack", {
        "channel_id": s("The ID of the channel containing the thread"),
        "thread_ts": s("The timestamp of the parent message in the format '1234567890.123456'. Timestamps in "
                       "the format without the period can be converted by adding the period such that 6 numbers "
                       "come after it."),
        "text": s("The reply text"),
    }, ("channel_id", "thread_ts", "text")),
    openai("slack_schedule_message", "Schedule a message to be sent to a channel at a later time.", {
        "channel": s("Channel, private group, or DM channel to send message to."),
        "post_at": s("Unix timestamp representing the future time the message should post to Slack.", "integer"),
        "text": s("The message text."),
        "thread_ts": s("Provide another message's ts value to make this message a reply."),
    }, ("channel", "post_at", "text")),
    openai("slack_update_message", "Update (edit) a message already posted in a channel.", {
        "channel": s("Channel containing the message to be updated."),
        "ts": s("Timestamp of the message to be updated."), "text": s("New text for the message."),
    }, ("channel", "ts")),
    openai("slack_add_reaction", "Add a reaction emoji to a message", {
        "channel_id": s("The ID of the channel containing the message"),
        "timestamp": s("The timestamp of the message to react to"),
        "reaction": s("The name of the emoji reaction (without ::)"),
    }, ("channel_id", "timestamp", "reaction")),
    openai("slack_get_channel_history", "Get recent messages from a channel", {
        "channel_id": CHANNEL_ID, "limit": s("Number of messages to retrieve (default 10)", "number"),
    }, ("channel_id",)),
    openai("slack_get_thread_replies", "Get all replies in a message thread", {
        "channel_id": s("The ID of the channel containing the thread"),
        "thread_ts": s("The timestamp of the parent message in the format '1234567890.123456'."),
    }, ("channel_id", "thread_ts")),
    openai("slack_get_users", "Get a list of all users in the workspace with their basic profile information", {
        "cursor": s("Pagination cursor for next page of results"),
        "limit": s("Maximum number of users to return (default 100, max 200)", "number"),
    }),
    openai("slack_get_user_profile", "Get detailed profile information for a specific user", {
        "user_id": s("The ID of the user"),
    }, ("user_id",)),
    openai("slack_set_channel_topic", "Sets the topic for a conversation.", {
        "channel": s("Conversation to set the topic of"), "topic": s("The new topic string. Does not support formatting or linkification."),
    }, ("channel", "topic")),
    openai("slack_search_messages", "Searches for messages matching a query.", {
        "query": s("Search query. May contain operators such as in:#channel, from:@user, before:, after:."),
        "count": s("Number of items to return per page.", "integer"),
        "sort": s("Return matches sorted by either score or timestamp.", enum=["score", "timestamp"]),
    }, ("query",)),
]

FILESYSTEM = [
    mcp("read_text_file", "Read the complete contents of a file from the file system as text. Handles various "
        "text encodings. Use the 'head' parameter to read only the first N lines of a file, or the 'tail' "
        "parameter to read only the last N lines. Only works within allowed directories.", {
        "path": s("Path of the file to read"), "head": s("If provided, returns only the first N lines", "number"),
        "tail": s("If provided, returns only the last N lines", "number"),
    }, ("path",), read_only=True),
    mcp("read_multiple_files", "Read the contents of multiple files simultaneously. This is more efficient than "
        "reading files one by one when you need to analyze or compare multiple files.", {
        "paths": s("Array of file paths to read", "array", items={"type": "string"}),
    }, ("paths",), read_only=True),
    mcp("write_file", "Create a new file or completely overwrite an existing file with new content. Use with "
        "caution as it will overwrite existing files without warning.", {
        "path": s("Path of the file to write"), "content": s("Content to write"),
    }, ("path", "content"), read_only=False),
    mcp("edit_file", "Make line-based edits to a text file. Each edit replaces exact line sequences with new "
        "content. Returns a git-style diff showing the changes made.", {
        "path": s("Path of the file to edit"),
        "edits": s("List of edits, each with oldText (text to search for, must match exactly) and newText "
                   "(text to replace with)", "array",
                   items={"type": "object", "properties": {"oldText": {"type": "string"}, "newText": {"type": "string"}}}),
        "dryRun": s("Preview changes using git-style diff format", "boolean"),
    }, ("path", "edits"), read_only=False),
    mcp("create_directory", "Create a new directory or ensure a directory exists. Can create multiple nested "
        "directories in one operation.", {
        "path": s("Path of the directory to create"),
    }, ("path",), read_only=False),
    mcp("list_directory", "Get a detailed listing of all files and directories in a specified path. Results "
        "clearly distinguish between files and directories with [FILE] and [DIR] prefixes.", {
        "path": s("Path of the directory to list"),
    }, ("path",), read_only=True),
    mcp("directory_tree", "Get a recursive tree view of files and directories as a JSON structure.", {
        "path": s("Root directory of the tree"),
    }, ("path",), read_only=True),
    mcp("move_file", "Move or rename files and directories. Can move files between directories and rename them "
        "in a single operation. If the destination exists, the operation will fail.", {
        "source": s("Path to move from"), "destination": s("Path to move to"),
    }, ("source", "destination"), read_only=False),
    mcp("copy_file", "Copy files and directories.", {
        "source": s("Source path of the file or directory"), "destination": s("Destination path"),
    }, ("source", "destination"), read_only=False),
    mcp("delete_file", "Delete a file or directory from the file system.", {
        "path": s("Path to the file or directory to delete"),
        "recursive": s("Whether to recursively delete directories (default: false)", "boolean"),
    }, ("path",), read_only=False),
    mcp("search_files", "Recursively search for files and directories matching a pattern. Searches through all "
        "subdirectories from the starting path.", {
        "path": s("Starting directory"), "pattern": s("Glob pattern to match file names"),
        "excludePatterns": s("Patterns to exclude", "array", items={"type": "string"}),
    }, ("path", "pattern"), read_only=True),
    mcp("get_file_info", "Retrieve detailed metadata about a file or directory, including size, creation time, "
        "last modified time, permissions, and type.", {
        "path": s("Path of the file or directory"),
    }, ("path",), read_only=True),
    mcp("list_allowed_directories", "Returns the list of directories that this server is allowed to access.",
        {}, read_only=True),
]

CALENDAR_ID = s("Calendar identifier. Use 'primary' for the logged-in user's primary calendar.")
WHEN = {"type": "object", "description": "Start or end of the event: dateTime (RFC3339) or date (all-day), "
        "with an optional timeZone", "properties": {"dateTime": {"type": "string"}, "date": {"type": "string"},
                                                    "timeZone": {"type": "string"}}}
SEND_UPDATES = s("Guests who should receive notifications about the change", enum=["all", "externalOnly", "none"])

CALENDAR = [
    anthropic("calendar_list_events", "Returns events on the specified calendar, optionally within a time "
              "range or matching a free text search.", {
                  "calendarId": CALENDAR_ID,
                  "timeMin": s("Lower bound (exclusive) for an event's end time, RFC3339 timestamp"),
                  "timeMax": s("Upper bound (exclusive) for an event's start time, RFC3339 timestamp"),
                  "q": s("Free text search terms to find events that match in summary, description, location, "
                         "attendees"),
                  "maxResults": s("Maximum number of events returned", "integer"),
                  "singleEvents": s("Whether to expand recurring events into instances", "boolean"),
                  "orderBy": s("The order of the events returned", enum=["startTime", "updated"]),
              }, ("calendarId",)),
    anthropic("calendar_create_event", "Creates an event on a calendar, with attendees, location, recurrence "
              "and an optional video conference.", {
                  "calendarId": CALENDAR_ID, "summary": s("Title of the event"),
                  "description": s("Description of the event"), "location": s("Geographic location of the event"),
                  "start": WHEN, "end": WHEN,
                  "attendees": s("The attendees of the event, by email", "array",
                                 items={"type": "object", "properties": {"email": {"type": "string"}}}),
                  "recurrence": s("RRULE lines for a recurring event", "array", items={"type": "string"}),
                  "sendUpdates": SEND_UPDATES,
              }, ("calendarId", "start", "end")),
    anthropic("calendar_quick_add_event", "Creates an event based on a simple text string, such as "
              "'Appointment at Somewhere on June 3rd 10am-10:25am'.", {
                  "calendarId": CALENDAR_ID, "text": s("The text describing the event to be created"),
                  "sendUpdates": SEND_UPDATES,
              }, ("calendarId", "text")),
    anthropic("calendar_get_event", "Returns an event based on its Google Calendar ID.", {
        "calendarId": CALENDAR_ID, "eventId": s("Event identifier"),
    }, ("calendarId", "eventId")),
    anthropic("calendar_update_event", "Updates an event (patch semantics): change its time, title, location, "
              "description or attendees.", {
                  "calendarId": CALENDAR_ID, "eventId": s("Event identifier"), "summary": s("Title of the event"),
                  "start": WHEN, "end": WHEN, "location": s("Geographic location of the event"),
                  "attendees": s("The attendees of the event, by email", "array",
                                 items={"type": "object", "properties": {"email": {"type": "string"}}}),
                  "sendUpdates": SEND_UPDATES,
              }, ("calendarId", "eventId")),
    anthropic("calendar_delete_event", "Deletes an event.", {
        "calendarId": CALENDAR_ID, "eventId": s("Event identifier"), "sendUpdates": SEND_UPDATES,
    }, ("calendarId", "eventId")),
    anthropic("calendar_move_event", "Moves an event to another calendar, i.e. changes an event's organizer.", {
        "calendarId": s("Calendar identifier of the source calendar where the event currently is on"),
        "eventId": s("Event identifier"),
        "destination": s("Calendar identifier of the target calendar where the event is to be moved to"),
    }, ("calendarId", "eventId", "destination")),
    anthropic("calendar_query_freebusy", "Returns free/busy information for a set of calendars.", {
        "timeMin": s("The start of the interval for the query formatted as per RFC3339"),
        "timeMax": s("The end of the interval for the query formatted as per RFC3339"),
        "items": s("List of calendars and/or groups to query, by id (an email address for a person's calendar)",
                   "array", items={"type": "object", "properties": {"id": {"type": "string"}}}),
        "timeZone": s("Time zone used in the response"),
    }, ("timeMin", "timeMax", "items")),
    anthropic("calendar_list_calendars", "Returns the calendars on the user's calendar list.", {
        "showHidden": s("Whether to show hidden entries", "boolean"),
    }),
]

MESSAGE_ID = s("The ID of the message")

EMAIL = [
    openai("gmail_send_message", "Sends an email message to the recipients in the To, Cc, and Bcc headers.", {
        "to": s("Recipient email addresses", "array", items={"type": "string"}),
        "subject": s("Email subject"), "body": s("Email body content"),
        "cc": s("CC recipients", "array", items={"type": "string"}),
        "bcc": s("BCC recipients", "array", items={"type": "string"}),
        "attachments": s("File paths to attach", "array", items={"type": "string"}),
    }, ("to", "subject", "body")),
    openai("gmail_create_draft", "Creates a new draft with the DRAFT label; it is saved, not sent.", {
        "to": s("Recipient email addresses", "array", items={"type": "string"}),
        "subject": s("Email subject"), "body": s("Email body content"),
        "cc": s("CC recipients", "array", items={"type": "string"}),
        "threadId": s("Thread to attach the draft to, for a reply draft"),
    }, ("to", "subject", "body")),
    anthropic("gmail_send_draft", "Sends the specified, existing draft to the recipients in the To, Cc, and "
              "Bcc headers.", {
                  "draftId": s("The ID of the draft to send"),
              }, ("draftId",)),
    anthropic("gmail_reply_to_message", "Replies to a message in its thread: the reply goes to the original "
              "sender (or to every recipient with replyAll), with In-Reply-To and References headers and the "
              "same subject so it stays in the conversation.", {
                  "messageId": s("The ID of the message to reply to"), "body": s("Reply body content"),
                  "replyAll": s("Reply to all recipients of the original message", "boolean"),
              }, ("messageId", "body")),
    openai("gmail_list_messages", "Lists the messages in the user's mailbox matching a query, e.g. "
           "'from:someuser@example.com is:unread after:2024/01/01'.", {
               "q": s("Only return messages matching the specified query. Supports the same query format as "
                      "the Gmail search box."),
               "labelIds": s("Only return messages with labels that match all of the specified label IDs.",
                             "array", items={"type": "string"}),
               "maxResults": s("Maximum number of messages to return.", "integer"),
           }),
    openai("gmail_get_message", "Gets the specified message: headers, body and attachment list.", {
        "id": s("The ID of the message to retrieve."),
        "format": s("The format to return the message in.", enum=["full", "metadata", "minimal", "raw"]),
    }, ("id",)),
    anthropic("gmail_get_thread", "Gets the specified thread: every message of the conversation.", {
        "id": s("The ID of the thread to retrieve."),
    }, ("id",)),
    anthropic("gmail_modify_message", "Modifies the labels on the specified message: archive it (remove "
              "INBOX), mark it read (remove UNREAD), star it, or file it under a label.", {
                  "id": MESSAGE_ID,
                  "addLabelIds": s("A list of IDs of labels to add to this message.", "array", items={"type": "string"}),
                  "removeLabelIds": s("A list IDs of labels to remove from this message.", "array",
                                      items={"type": "string"}),
              }, ("id",)),
    anthropic("gmail_trash_message", "Moves the specified message to the trash.", {
        "id": s("The ID of the message to Trash."),
    }, ("id",)),
    openai("gmail_get_attachment", "Gets the specified message attachment.", {
        "messageId": s("The ID of the message containing the attachment."),
        "id": s("The ID of the attachment."),
    }, ("messageId", "id")),
]

ISSUE_KEY = s("Jira issue key (e.g., 'PROJ-123')")

JIRA = [
    openai("jira_create_issue", "Create a new Jira issue with optional Epic link or parent for subtasks.", {
        "project_key": s("The JIRA project key (e.g. 'PROJ', 'DEV', 'SUPPORT'). This is the prefix of issue "
                         "keys in your project."),
        "summary": s("Summary/title of the issue"),
        "issue_type": s("Issue type (e.g. 'Task', 'Bug', 'Story', 'Epic', 'Subtask')"),
        "assignee": s("Assignee's user identifier (string): email, display name, or account ID"),
        "description": s("Issue description"),
        "components": s("Comma-separated list of component names to assign"),
        "additional_fields": s("Dictionary of additional fields to set, e.g. priority, labels, parent, "
                               "fixVersions", "object"),
    }, ("project_key", "summary", "issue_type")),
    openai("jira_get_issue", "Get details of a specific Jira issue including its Epic links and relationship "
           "information.", {
               "issue_key": ISSUE_KEY,
               "fields": s("Comma-separated list of fields to return (e.g., 'summary,status,customfield_10010')"),
               "expand": s("Fields to expand, e.g. 'renderedFields', 'transitions', 'changelog'"),
               "comment_limit": s("Maximum number of comments to include (0 or null for no comments)", "integer"),
           }, ("issue_key",)),
    openai("jira_search", "Search Jira issues using JQL (Jira Query Language).", {
        "jql": s("JQL query string, e.g. 'project = PROJ AND status = \"In Progress\"', "
                 "'assignee = currentUser()', 'updated >= -7d'"),
        "fields": s("Comma-separated fields to return in the results"),
        "limit": s("Maximum number of results (1-50)", "integer"),
        "start_at": s("Starting index for pagination (0-based)", "integer"),
    }, ("jql",)),
    openai("jira_update_issue", "Update an existing Jira issue including changing status, adding Epic links, "
           "updating fields, etc.", {
               "issue_key": ISSUE_KEY,
               "fields": s("Dictionary of fields to update, e.g. summary, description, priority, labels", "object"),
               "additional_fields": s("Optional dictionary of additional fields to update", "object"),
               "attachments": s("Comma-separated list of file paths to attach"),
           }, ("issue_key", "fields")),
    openai("jira_assign_issue", "Assigns an issue to a user. Use accountId null to unassign it.", {
        "issue_key": ISSUE_KEY,
        "account_id": s("The account ID of the user to assign the issue to; null unassigns"),
    }, ("issue_key", "account_id")),
    openai("jira_get_transitions", "Get available status transitions for a Jira issue.", {
        "issue_key": ISSUE_KEY,
    }, ("issue_key",)),
    openai("jira_transition_issue", "Transition a Jira issue to a new status.", {
        "issue_key": ISSUE_KEY,
        "transition_id": s("ID of the transition to perform. Use the jira_get_transitions tool first to get "
                           "the available transitions for an issue."),
        "fields": s("Fields to update during the transition, e.g. resolution", "object"),
        "comment": s("Comment to add during the transition."),
    }, ("issue_key", "transition_id")),
    openai("jira_add_comment", "Add a comment to a Jira issue.", {
        "issue_key": ISSUE_KEY, "comment": s("Comment text in Markdown format"),
    }, ("issue_key", "comment")),
    openai("jira_add_worklog", "Add a worklog entry to a Jira issue.", {
        "issue_key": ISSUE_KEY,
        "time_spent": s("Time spent in Jira format. Examples: '1h 30m', '1d', '30m', '4h'"),
        "comment": s("Optional comment for the worklog in Markdown format"),
        "started": s("Optional start time in ISO format. If not provided, the current time will be used."),
    }, ("issue_key", "time_spent")),
    openai("jira_create_issue_link", "Create a link between two Jira issues.", {
        "link_type": s("The type of link to create (e.g., 'Duplicate', 'Blocks', 'Relates To')"),
        "inward_issue_key": s("The key of the inward issue (e.g., 'PROJ-123')"),
        "outward_issue_key": s("The key of the outward issue (e.g., 'PROJ-456')"),
        "comment": s("Optional comment to add to the link"),
    }, ("link_type", "inward_issue_key", "outward_issue_key")),
    openai("jira_get_sprint_issues", "Get jira issues from sprint.", {
        "sprint_id": s("Sprint ID to get issues from"),
        "fields": s("Comma-separated fields to return in the results"),
        "limit": s("Maximum number of results (1-50)", "integer"),
    }, ("sprint_id",)),
]

TIME_WEATHER = [
    mcp("get_current_time", "Get current time in a specific timezones", {
        "timezone": s("IANA timezone name (e.g., 'America/New_York', 'Europe/London'). Use 'UTC' as local "
                      "timezone if no timezone provided by the user."),
    }, ("timezone",), read_only=True),
    mcp("convert_time", "Convert time between timezones", {
        "source_timezone": s("Source IANA timezone name (e.g., 'America/New_York', 'Europe/London')."),
        "time": s("Time to convert in 24-hour format (HH:MM)"),
        "target_timezone": s("Target IANA timezone name (e.g., 'Asia/Tokyo', 'America/San_Francisco')."),
    }, ("source_timezone", "time", "target_timezone"), read_only=True),
    mcp("get_forecast", "Get weather forecast for a location.", {
        "latitude": s("Latitude of the location", "number"), "longitude": s("Longitude of the location", "number"),
    }, ("latitude", "longitude")),
    mcp("get_alerts", "Get weather alerts for a US state.", {
        "state": s("Two-letter US state code (e.g. CA, NY)"),
    }, ("state",)),
    openai("get_current_weather", "Access current weather data for any location on Earth: temperature, "
           "feels-like, humidity, wind, clouds and conditions.", {
               "q": s("City name, state code (only for the US) and country code divided by comma, e.g. 'London,uk'"),
               "units": s("Units of measurement", enum=["standard", "metric", "imperial"]),
               "lang": s("You can use this parameter to get the output in your language"),
           }, ("q",)),
    openai("get_air_pollution", "Current air pollution data for the coordinates: Air Quality Index and "
           "concentrations of CO, NO, NO2, O3, SO2, PM2.5, PM10 and NH3.", {
               "lat": s("Geographical coordinates (latitude)", "number"),
               "lon": s("Geographical coordinates (longitude)", "number"),
           }, ("lat", "lon")),
]

WEB = [
    anthropic("brave_web_search", "Performs a web search using the Brave Search API, ideal for general queries, "
              "news, articles, and online content. Use this for broad information gathering, recent events, or "
              "when you need diverse web sources. Supports pagination and content filtering.", {
                  "query": s("Search query (max 400 chars, 50 words)"),
                  "count": s("Number of results (1-20, default 10)", "number"),
                  "offset": s("Pagination offset (max 9, default 0)", "number"),
              }, ("query",)),
    anthropic("brave_local_search", "Searches for local businesses and places using Brave's Local Search API. "
              "Best for queries related to physical locations, businesses, restaurants, services, etc. Returns "
              "detailed information including business names and addresses, ratings and review counts, phone "
              "numbers and opening hours. Use this when the query implies 'near me' or mentions specific "
              "locations.", {
                  "query": s("Local search query (e.g. 'pizza near Central Park')"),
                  "count": s("Number of results (1-20, default 5)", "number"),
              }, ("query",)),
    anthropic("brave_news_search", "Searches for news articles using Brave's News Search API, ideal for current "
              "events, breaking news and time-sensitive topics.", {
                  "query": s("The term to search the internet for news articles"),
                  "count": s("Number of results (max 50, default 20)", "number"),
                  "freshness": s("Filters results by when they were discovered: pd (24h), pw (7 days), pm (31 "
                                 "days), py (365 days)"),
              }, ("query",)),
    anthropic("brave_image_search", "Searches for images using Brave's Image Search API.", {
        "query": s("The user's search query for images"), "count": s("Number of results (max 200, default 50)", "number"),
    }, ("query",)),
    anthropic("fetch", "Fetches a URL from the internet and optionally extracts its contents as markdown.", {
        "url": s("URL to fetch", format="uri"),
        "max_length": s("Maximum number of characters to return.", "integer"),
        "start_index": s("On return output starting at this character index, useful if a previous fetch was "
                         "truncated and more context is required.", "integer"),
        "raw": s("Get the actual HTML content of the requested page, without simplification.", "boolean"),
    }, ("url",)),
]

NOTION = [
    mcp("notion_search", "Searches all pages and databases that have been shared with the integration by "
        "title.", {
            "query": s("The text that the API compares page and database titles against."),
            "filter": s("Limit the results to either only pages or only databases", "object",
                        properties={"value": {"type": "string", "enum": ["page", "database"]},
                                    "property": {"type": "string", "enum": ["object"]}}),
            "page_size": s("The number of items from the full list to include in the response", "integer"),
        }, read_only=True),
    mcp("notion_retrieve_page", "Retrieves a Page object (its properties, not its content) using the ID "
        "specified.", {
            "page_id": s("Identifier for a Notion page"),
        }, ("page_id",), read_only=True),
    mcp("notion_create_page", "Creates a new page that is a child of an existing page or database, with "
        "properties and optional content blocks.", {
            "parent": s("The parent page or database where the new page is inserted (page_id or database_id)",
                        "object"),
            "properties": s("The values of the page's properties, e.g. its title", "object"),
            "children": s("The content to be rendered on the new page, as an array of block objects", "array",
                          items={"type": "object"}),
        }, ("parent", "properties"), read_only=False),
    mcp("notion_update_page_properties", "Updates the properties of a page: property values, icon, cover, "
        "or archives it (moves it to trash).", {
            "page_id": s("The identifier for the Notion page to be updated."),
            "properties": s("The property values to update for the page", "object"),
            "archived": s("Whether the page is archived (deleted). Set to true to archive a page.", "boolean"),
        }, ("page_id",), read_only=False),
    mcp("notion_append_block_children", "Creates and appends new children blocks (paragraphs, to-dos, "
        "headings, bullets) to the parent block or page specified.", {
            "block_id": s("Identifier for a block or page to append to"),
            "children": s("Child content to append to a container block as an array of block objects",
                          "array", items={"type": "object"}),
        }, ("block_id", "children"), read_only=False),
    mcp("notion_retrieve_block_children", "Returns a paginated array of child block objects contained in the "
        "block or page: the content of a page.", {
            "block_id": s("Identifier for a block or page"),
            "page_size": s("The number of items from the full list desired in the response", "integer"),
        }, ("block_id",), read_only=True),
    mcp("notion_query_database", "Gets a list of pages contained in the database, filtered and ordered "
        "according to the filter conditions and sorts provided in the request.", {
            "database_id": s("Identifier for a Notion database."),
            "filter": s("When supplied, limits which pages are returned based on the filter conditions "
                        "(property values).", "object"),
            "sorts": s("When supplied, orders the results based on the provided sort criteria.", "array",
                       items={"type": "object"}),
        }, ("database_id",), read_only=True),
    mcp("notion_create_comment", "Creates a comment on a page or in an existing discussion thread.", {
        "parent": s("The page that contains the comment (page_id)", "object"),
        "discussion_id": s("A UUID identifier for a discussion thread, to reply in it"),
        "rich_text": s("A rich text object with the comment's content", "array", items={"type": "object"}),
    }, ("rich_text",), read_only=False),
]

FILE_ID = s("The ID of the file.")

DRIVE = [
    openai("drive_search_files", "Lists the user's files, filtered by a search query, e.g. name contains "
           "'budget' and mimeType = 'application/vnd.google-apps.spreadsheet'.", {
               "q": s("A query for filtering the file results: name, fullText, mimeType, modifiedTime, "
                      "'<folderId>' in parents, trashed, starred, sharedWithMe"),
               "orderBy": s("A comma-separated list of sort keys, e.g. 'modifiedTime desc'"),
               "pageSize": s("The maximum number of files to return per page.", "integer"),
           }),
    openai("drive_get_file", "Gets a file's metadata by ID: name, MIME type, owners, size, modified time, "
           "sharing and web link.", {
               "fileId": FILE_ID, "fields": s("The fields to include in the response, e.g. 'name,owners,size'"),
           }, ("fileId",)),
    openai("drive_download_file", "Downloads the content of a file stored in Drive (alt=media): PDFs, images, "
           "binaries and other blob files.", {
               "fileId": FILE_ID,
           }, ("fileId",)),
    openai("drive_export_file", "Exports a Google Workspace document (Docs, Sheets, Slides) to the requested "
           "MIME type and returns the exported byte content.", {
               "fileId": FILE_ID,
               "mimeType": s("The MIME type of the format requested for this export, e.g. application/pdf, "
                             "text/csv, application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
           }, ("fileId", "mimeType")),
    openai("drive_create_file", "Creates a new file (upload with content) or a folder "
           "(mimeType application/vnd.google-apps.folder).", {
               "name": s("The name of the file."), "mimeType": s("The MIME type of the file."),
               "parents": s("The ID of the parent folder containing the file.", "array", items={"type": "string"}),
               "content": s("The file content to upload (media upload)"),
           }, ("name",)),
    openai("drive_copy_file", "Creates a copy of a file and applies any requested updates with patch "
           "semantics.", {
               "fileId": FILE_ID, "name": s("The name of the copy."),
               "parents": s("The ID of the parent folder for the copy.", "array", items={"type": "string"}),
           }, ("fileId",)),
    openai("drive_update_file", "Updates a file's metadata or content with patch semantics: rename it, move "
           "it between folders (addParents/removeParents), star or trash it.", {
               "fileId": FILE_ID, "name": s("The new name of the file."),
               "addParents": s("A comma-separated list of parent IDs to add."),
               "removeParents": s("A comma-separated list of parent IDs to remove."),
               "trashed": s("Whether the file has been trashed", "boolean"),
               "starred": s("Whether the user has starred the file.", "boolean"),
           }, ("fileId",)),
    openai("drive_delete_file", "Permanently deletes a file owned by the user without moving it to the "
           "trash. If the target is a folder, all descendants owned by the user are also deleted.", {
               "fileId": FILE_ID,
           }, ("fileId",)),
    openai("drive_share_file", "Creates a permission for a file or shared drive: share it with a user, group, "
           "domain or anyone, as reader, commenter or writer.", {
               "fileId": s("The ID of the file or shared drive."),
               "role": s("The role granted by this permission", enum=["owner", "organizer", "fileOrganizer",
                                                                      "writer", "commenter", "reader"]),
               "type": s("The type of the grantee", enum=["user", "group", "domain", "anyone"]),
               "emailAddress": s("The email address of the user or group to which this permission refers."),
               "sendNotificationEmail": s("Whether to send a notification email when sharing to users or "
                                          "groups.", "boolean"),
               "emailMessage": s("A plain text custom message to include in the notification email."),
           }, ("fileId", "role", "type")),
]

MAPS = [
    anthropic("maps_geocode", "Convert an address into geographic coordinates", {
        "address": s("The address to geocode"),
    }, ("address",)),
    anthropic("maps_reverse_geocode", "Convert coordinates into an address", {
        "latitude": s("Latitude coordinate", "number"), "longitude": s("Longitude coordinate", "number"),
    }, ("latitude", "longitude")),
    anthropic("maps_search_places", "Search for places using Google Places API", {
        "query": s("Search query"),
        "location": s("Optional center point for the search", "object",
                      properties={"latitude": {"type": "number"}, "longitude": {"type": "number"}}),
        "radius": s("Search radius in meters (max 50000)", "number"),
    }, ("query",)),
    anthropic("maps_place_details", "Get detailed information about a specific place", {
        "place_id": s("The place ID to get details for"),
    }, ("place_id",)),
    anthropic("maps_distance_matrix", "Calculate travel distance and time for multiple origins and "
              "destinations", {
                  "origins": s("Array of origin addresses or coordinates", "array", items={"type": "string"}),
                  "destinations": s("Array of destination addresses or coordinates", "array",
                                    items={"type": "string"}),
                  "mode": s("Travel mode (driving, walking, bicycling, transit)",
                            enum=["driving", "walking", "bicycling", "transit"]),
              }, ("origins", "destinations")),
    anthropic("maps_elevation", "Get elevation data for locations on the earth", {
        "locations": s("Array of locations to get elevation for", "array",
                       items={"type": "object", "properties": {"latitude": {"type": "number"},
                                                               "longitude": {"type": "number"}}}),
    }, ("locations",)),
    anthropic("maps_directions", "Get directions between two points", {
        "origin": s("Starting point address or coordinates"),
        "destination": s("Ending point address or coordinates"),
        "mode": s("Travel mode (driving, walking, bicycling, transit)",
                  enum=["driving", "walking", "bicycling", "transit"]),
    }, ("origin", "destination")),
]

STRIPE = [
    mcp("create_customer", "This tool will create a customer in Stripe.", {
        "name": s("The name of the customer."), "email": s("The email of the customer."),
    }, ("name",)),
    mcp("list_customers", "This tool will fetch a list of Customers from Stripe.", {
        "limit": s("A limit on the number of objects to be returned. Limit can range between 1 and 100.", "integer"),
        "email": s("A case-sensitive filter on the list based on the customer's email field."),
    }),
    mcp("create_product", "This tool will create a product in Stripe.", {
        "name": s("The name of the product."), "description": s("The description of the product."),
    }, ("name",)),
    mcp("create_price", "This tool will create a price in Stripe. If a product has not already been "
        "specified, a product should be created first.", {
            "product": s("The ID of the product to create the price for."),
            "unit_amount": s("The unit amount of the price in cents.", "integer"),
            "currency": s("The currency of the price."),
        }, ("product", "unit_amount", "currency")),
    mcp("create_payment_link", "This tool will create a payment link in Stripe.", {
        "price": s("The ID of the price to create the payment link for."),
        "quantity": s("The quantity of the product to include.", "integer"),
    }, ("price", "quantity")),
    mcp("create_invoice", "This tool will create an invoice in Stripe.", {
        "customer": s("The ID of the customer to create the invoice for."),
        "days_until_due": s("The number of days until the invoice is due.", "integer"),
    }, ("customer",)),
    mcp("create_invoice_item", "This tool will create an invoice item in Stripe.", {
        "customer": s("The ID of the customer to create the invoice item for."),
        "price": s("The ID of the price for the item."),
        "invoice": s("The ID of the invoice to create the item for."),
    }, ("customer", "price", "invoice")),
    mcp("finalize_invoice", "This tool will finalize an invoice in Stripe.", {
        "invoice": s("The ID of the invoice to finalize."),
    }, ("invoice",)),
    mcp("retrieve_balance", "This tool will retrieve the balance from Stripe. It takes no input.", {},
        read_only=True),
    mcp("create_refund", "This tool will refund a payment intent in Stripe.", {
        "payment_intent": s("The ID of the PaymentIntent to refund."),
        "amount": s("The amount to refund in cents.", "integer"),
    }, ("payment_intent",)),
    mcp("list_payment_intents", "This tool will list payment intents in Stripe.", {
        "customer": s("The ID of the customer to list payment intents for."),
        "limit": s("A limit on the number of objects to be returned. Limit can range between 1 and 100.", "integer"),
    }),
    mcp("list_subscriptions", "This tool will list all subscriptions in Stripe.", {
        "customer": s("The ID of the customer to list subscriptions for."),
        "price": s("The ID of the price to list subscriptions for."),
        "status": s("The status of the subscriptions to retrieve.",
                    enum=["active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired",
                          "trialing", "all"]),
    }),
    mcp("cancel_subscription", "This tool will cancel a subscription in Stripe.", {
        "subscription": s("The ID of the subscription to cancel."),
    }, ("subscription",)),
]

DATABASE = [
    anthropic("read_query", "Execute a SELECT query on the SQLite database", {
        "query": s("SELECT SQL query to execute"),
    }, ("query",)),
    anthropic("write_query", "Execute an INSERT, UPDATE, or DELETE query on the SQLite database", {
        "query": s("SQL query to execute"),
    }, ("query",)),
    anthropic("create_table", "Create a new table in the SQLite database", {
        "query": s("CREATE TABLE SQL statement"),
    }, ("query",)),
    anthropic("list_tables", "List all tables in the SQLite database", {}),
    anthropic("describe_table", "Get the schema information for a specific table", {
        "table_name": s("Name of the table to describe"),
    }, ("table_name",)),
    anthropic("append_insight", "Add a business insight to the memo", {
        "insight": s("Business insight discovered from data analysis"),
    }, ("insight",)),
]

DOMAINS: dict[str, list[Schema]] = {
    "github": GITHUB, "slack": SLACK, "filesystem": FILESYSTEM, "calendar": CALENDAR, "email": EMAIL,
    "jira": JIRA, "time_weather": TIME_WEATHER, "web": WEB, "notion": NOTION, "drive": DRIVE, "maps": MAPS,
    "stripe": STRIPE, "database": DATABASE,
}
"""Domain -> its tools, in the order they are written to the corpus."""


def tool_name(tool: Schema) -> str:
    return str(tool["function"]["name"] if "function" in tool else tool["name"])


def tool_format(tool: Schema) -> str:
    """The format this set writes the tool in (the test checks toolrank detects the same)."""
    if "function" in tool:
        return "openai"
    return "anthropic" if "input_schema" in tool else "mcp"
