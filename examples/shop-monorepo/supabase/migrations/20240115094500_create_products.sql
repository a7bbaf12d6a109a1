-- Catalog of products sold through the bot and the web shop.

create table public.products (
  id uuid primary key default gen_random_uuid(),
  sku text not null unique,
  title text not null,
  description text,
  price_cents integer not null check (price_cents >= 0),
  currency text not null default 'USD' check (char_length(currency) = 3),
  stock integer not null default 0 check (stock >= 0),
  is_active boolean not null default true,
  attributes jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index products_is_active_idx on public.products (is_active) where is_active;

create trigger products_set_updated_at
  before update on public.products
  for each row execute function public.handle_updated_at();

alter table public.products enable row level security;

create policy "Active products are visible to everyone"
  on public.products for select
  to anon, authenticated
  using (is_active);
