/**
 * Sample transform for the `github` source of examples/agent/agent.yaml: shapes a GitHub issue
 * (https://docs.github.com/en/rest/issues/issues#get-an-issue) into the ticket system's fields.
 * The agent calls the default export with the fetched record and the request context.
 */
interface GitHubIssue {
  number: number
  title: string
  state: 'open' | 'closed'
  body: string | null
  user: { login: string }
  labels: ({ name: string } | string)[]
  updated_at: string
  comments: number
  pull_request?: unknown
}

interface Context {
  requestId: string
  event?: string
}

export default function githubIssue(issue: GitHubIssue, context: Context): Record<string, unknown> | undefined {
  // Pull requests are issues too in this API; the ticket system only wants issues.
  if (issue.pull_request) return undefined
  return {
    key: `GH-${issue.number}`,
    title: issue.title,
    status: issue.state === 'open' ? 'OPEN' : 'DONE',
    description: issue.body ?? '',
    reporter: issue.user.login,
    tags: issue.labels.map((label) => (typeof label === 'string' ? label : label.name)),
    lastEvent: context.event ?? null,
  }
}
