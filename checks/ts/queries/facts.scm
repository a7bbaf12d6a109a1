; Nodes the per-file extractor (checks/ts/facts.py) looks at. One cursor pass
; collects them all; the Python side then does targeted work per capture.

; calls: table access (.from/.rpc), route registrations and mounts, HTTP calls
; of clients, member calls of consumers
(call_expression) @call

; declarations that may create a router, an instance of a client, a string constant
(variable_declarator) @var
(assignment_expression
  left: (member_expression object: (this))) @this_assign

; functions: scopes, parameters, returned values
[
  (function_declaration)
  (generator_function_declaration)
  (function_expression)
  (arrow_function)
  (method_definition)
] @function
(return_statement) @return

; types: repository interfaces, implementations
[(class_declaration) (abstract_class_declaration)] @class
(interface_declaration) @iface
(type_alias_declaration) @alias

; table references in types: Tables<'users'>, Database['public']['Tables']['users']['Row']
(generic_type
  name: (type_identifier) @_generic
  (#any-of? @_generic "Tables" "TablesInsert" "TablesUpdate" "TablesRow")) @tables_generic
(lookup_type) @lookup

; `// dlcm-ignore DLCM301: reason`
(comment) @comment

; path-like literals mentioned in tests
(string) @string
(template_string) @template

; only to find the function, block or class around a node by byte range (no parent walks)
(generator_function) @gen_function
(statement_block) @block
(class) @class_expr
