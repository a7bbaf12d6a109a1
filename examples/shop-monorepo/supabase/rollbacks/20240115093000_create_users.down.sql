-- Undo 20240115093000_create_users.sql
drop policy if exists "Users can update their own profile" on public.users;
drop policy if exists "Users can view their own profile" on public.users;
drop trigger if exists users_set_updated_at on public.users;
drop table if exists public.users;
drop function if exists public.handle_updated_at();
