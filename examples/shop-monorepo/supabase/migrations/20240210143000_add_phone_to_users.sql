-- Users can share their phone number with the bot for delivery updates.

alter table public.users
  add column phone text;

alter table public.users
  add constraint users_phone_format check (phone is null or phone ~ '^\+[1-9][0-9]{6,14}$');
