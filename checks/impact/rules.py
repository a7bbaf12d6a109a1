"""Rule ids (DLCM7xx: impact / breaking) of the breaking-change classification.

The `id` of a `BreakingItem` names the change in the style of oasdiff's checks
(`response-property-removed`, `request-parameter-became-required`, ...); the rule id
groups them for configuration and documentation.
"""

TABLE_REMOVED = "DLCM701"  # table-removed
COLUMN_REMOVED = "DLCM702"  # column-removed, primary-key-removed, referenced-by-foreign-key
TABLE_RENAMED = "DLCM703"  # table-renamed
COLUMN_RENAMED = "DLCM704"  # column-renamed
TYPE_NARROWED = "DLCM705"  # column-type-narrowed
TYPE_CHANGED = "DLCM706"  # column-type-changed, response-property-type-changed
TYPE_WIDENED = "DLCM707"  # column-type-widened (readers see a wider type)
BECAME_REQUIRED = "DLCM708"  # column-became-not-null
BECAME_NULLABLE = "DLCM709"  # column-became-nullable, response-property-became-nullable
ENUM_VALUE_REMOVED = "DLCM710"  # enum-value-removed
ADDED_REQUIRED = "DLCM711"  # column-added-required (not null without default)
ENDPOINT_REMOVED = "DLCM712"  # endpoint-removed, endpoint-changed
CLIENT_METHOD_REMOVED = "DLCM713"  # client-method-removed
CLIENT_SIGNATURE = "DLCM714"  # client-method-new-required-param
CLIENT_SIGNATURE_OTHER = "DLCM715"  # client-method-signature-changed
RESPONSE_PROPERTY_REMOVED = "DLCM716"  # response-property-removed / -renamed, endpoint-data-removed

DESCRIPTIONS = {
    TABLE_REMOVED: "a table is dropped",
    COLUMN_REMOVED: "a column is dropped (or something it depends on)",
    TABLE_RENAMED: "a table is renamed",
    COLUMN_RENAMED: "a column is renamed",
    TYPE_NARROWED: "a column's type is narrowed",
    TYPE_CHANGED: "a column's type changes incompatibly",
    TYPE_WIDENED: "a column's type is widened (readers see a wider type)",
    BECAME_REQUIRED: "a column becomes not null",
    BECAME_NULLABLE: "a column becomes nullable",
    ENUM_VALUE_REMOVED: "an enum value is removed",
    ADDED_REQUIRED: "a not-null column without default is added",
    ENDPOINT_REMOVED: "an API endpoint is removed or changed",
    CLIENT_METHOD_REMOVED: "a client method is removed",
    CLIENT_SIGNATURE: "a client method gains a required parameter",
    CLIENT_SIGNATURE_OTHER: "a client method's signature changes",
    RESPONSE_PROPERTY_REMOVED: "an endpoint's request/response loses or renames a property",
}
