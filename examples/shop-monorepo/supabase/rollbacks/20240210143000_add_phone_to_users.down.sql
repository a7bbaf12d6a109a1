-- Undo 20240210143000_add_phone_to_users.sql
alter table public.users drop constraint if exists users_phone_format;
alter table public.users drop column if exists phone;
