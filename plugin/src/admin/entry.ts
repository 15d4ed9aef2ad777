// The admin page's entry: `/admin` on the service (cookie session), or the Forge `jira:adminPage` module
// `baton-admin` (Forge Remote). main.ts hands over here and loads this chunk only for the admin page.
import { AdminApi, forgeTransport, httpTransport } from './api';
import { startAdmin } from './page';

export const ADMIN_MODULE = 'baton-admin';

export function isAdminPath(): boolean {
  return /^\/admin\/?$/.test(location.pathname);
}

export function startAdminHttp(root: HTMLElement): Promise<void> {
  return startAdmin(new AdminApi(httpTransport()), root);
}

export function startAdminForge(invokeRemote: unknown, root: HTMLElement): Promise<void> {
  return startAdmin(new AdminApi(forgeTransport(invokeRemote as never)), root);
}
