/**
 * The admin token, kept in this tab's sessionStorage only: never in the URL, a cookie or the page,
 * and gone when the tab closes. Every admin API call sends it as a bearer token.
 */
const KEY = 'hookferry.adminToken'

export const session = {
  token: (): string | undefined => sessionStorage.getItem(KEY) ?? undefined,
  signIn: (token: string): void => sessionStorage.setItem(KEY, token),
  signOut: (): void => sessionStorage.removeItem(KEY),
}
