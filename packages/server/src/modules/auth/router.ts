import { LabelerError } from '@labeler/core';
import type { Request } from 'express';
import { parse, serialize } from 'cookie';
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from '../../trpc/init.js';
import { LOCALES, SESSION_COOKIE } from './admin-users.js';

/** Sign-in attempts per minute from one address, whatever the emails. */
const SIGN_IN_PER_IP = 20;

/** The session cookie's token (decoded), parsed the same way as the auth plugin does. */
function sessionTokenOf(req: Request | null): string | undefined {
  const header = req?.headers.cookie;
  return header ? parse(header)[SESSION_COOKIE] : undefined;
}

export const authRouter = router({
  /** Who is signed in (null when nobody), the CSRF token for mutations, and first-run hints. */
  session: publicProcedure.query(async ({ ctx }) => {
    const token = sessionTokenOf(ctx.req);
    const session = token ? await ctx.app.adminUsers.sessionInfo(token) : null;
    const admins = session ? 1 : await ctx.app.adminUsers.count();
    return {
      session,
      first_run: admins === 0,
      hint:
        admins === 0
          ? 'No admin exists yet: set LABELER_ADMIN_EMAIL and LABELER_ADMIN_PASSWORD and restart, or run `pnpm labeler admin create`.'
          : null,
    };
  }),

  signIn: publicProcedure
    .input(z.object({ email: z.string().trim().email().max(320), password: z.string().min(1).max(1000) }))
    .mutation(async ({ ctx, input }) => {
      // Per address and email (guessing one password), and per address (spraying many emails).
      const buckets = await ctx.app.rateLimits.consume([
        {
          policy: { name: 'sign-in', limit: 10, windowSeconds: 60 },
          key: `${ctx.ip ?? 'unknown'}:${input.email.toLowerCase()}`,
        },
        {
          policy: { name: 'sign-in-ip', limit: SIGN_IN_PER_IP, windowSeconds: 60 },
          key: ctx.ip ?? 'unknown',
        },
      ]);
      const exceeded = buckets.filter((b) => b.exceeded);
      if (exceeded.length) {
        const wait = Math.max(...exceeded.map((b) => b.resetSeconds));
        throw new LabelerError('RATE_LIMIT_EXCEEDED', `Too many sign-in attempts. Wait ${wait} s.`, {
          retryAfterSeconds: wait,
        });
      }
      const { token, session } = await ctx.app.adminUsers.signIn(input.email, input.password, {
        ip: ctx.ip,
        userAgent: ctx.req?.headers['user-agent'] ?? null,
      });
      ctx.res?.setHeader(
        'Set-Cookie',
        serialize(SESSION_COOKIE, token, {
          httpOnly: true,
          sameSite: 'lax',
          secure: ctx.app.config.publicUrl.startsWith('https://'),
          path: '/',
          maxAge: ctx.app.config.LABELER_SESSION_TTL_HOURS * 3600,
        }),
      );
      return session;
    }),

  signOut: publicProcedure.mutation(async ({ ctx }) => {
    const token = sessionTokenOf(ctx.req);
    if (token) await ctx.app.adminUsers.signOut(token);
    ctx.res?.setHeader(
      'Set-Cookie',
      serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 0 }),
    );
    return { signed_out: true };
  }),

  setLocale: authedProcedure.input(z.object({ locale: z.enum(LOCALES) })).mutation(async ({ ctx, input }) => {
    if (ctx.principal.kind !== 'admin_user')
      throw new LabelerError('VALIDATION_ERROR', 'Only console users have a language preference.');
    await ctx.app.adminUsers.setLocale(ctx.principal.id, input.locale);
    return { locale: input.locale };
  }),

  me: authedProcedure.query(({ ctx }) => ({ principal: ctx.principal })),
});
