-- Customers of the shop. A user is created the first time they talk to the Telegram bot;
-- `auth_user_id` links the web account (Supabase Auth) once they sign in on the web.

create or replace function public.handle_updated_at()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

comment on function public.handle_updated_at() is 'Trigger function: keeps updated_at current on every update.';

create table public.users (
  id uuid primary key default gen_random_uuid(),
  auth_user_id uuid unique references auth.users (id) on delete set null,
  telegram_id bigint not null unique,
  username text,
  first_name text not null,
  last_name text,
  language_code text not null default 'en',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.users is 'Shop customers, keyed by their Telegram account.';

create trigger users_set_updated_at
  before update on public.users
  for each row execute function public.handle_updated_at();

alter table public.users enable row level security;

create policy "Users can view their own profile"
  on public.users for select
  to authenticated
  using ((select auth.uid()) = auth_user_id);

create policy "Users can update their own profile"
  on public.users for update
  to authenticated
  using ((select auth.uid()) = auth_user_id)
  with check ((select auth.uid()) = auth_user_id);
