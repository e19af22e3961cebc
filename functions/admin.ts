import { adminRoute } from '../lib/admin/admin-http.ts'
import { httpHandler } from '../lib/http/http-handler.ts'

/** /admin/v1/* — requests, dead letters (replay, discard) and agents, behind the admin token. */
export const handler = httpHandler(adminRoute)
