/** Starts the emulators the suite shares (filled in by the ports work). */
export default async function setup(): Promise<void> {}
