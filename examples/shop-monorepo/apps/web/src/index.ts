export { createDatabaseClient, type WebConfig } from './api'
export { accountPage, catalogPage, orderPage, productPage } from './pages'
export { addProduct, advanceOrder, cancelOrder } from './admin'
